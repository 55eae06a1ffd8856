/** The few SDP text edits the server makes, whatever library writes the answer (SPEC-MEDIA M3, M8). */

/**
 * Without transport-wide feedback from the server, a publisher that negotiated `transport-cc`
 * collapses its send rate; the server never offers it, so the offer's lines for it go (its header
 * extension too, which a library may echo in an m-line it leaves unused).
 */
export function withoutTransportCc(offer: string): string {
  return offer
    .split(/\r?\n/)
    .filter((line) => !/^a=rtcp-fb:\S+ transport-cc\s*$/.test(line) && !/^a=extmap:\S+ \S*transport-wide-cc\S*/.test(line))
    .join('\r\n');
}

/**
 * An m-line the server will not use is answered inactive. Chromium refuses an answer whose BUNDLE
 * group lists a port-0 m-line, and cannot set up RTCP mux for the others when the m-line its
 * transport was created for (the first of the offer's group) leaves the group. So a refused m-line
 * that the offer bundles stays in the group on the bundle's port, inactive; only one the offer
 * itself closed (port 0) is answered port 0, outside the group. A library may write port 0 or the
 * bundle's own port for the refused one: either way it says 9, the usual port of a bundled m-line.
 * A library that keeps an m-line's first description (libdatachannel) has its direction made inactive here.
 */
export function withRefusalsInactive(answer: string, offer: string, refused: ReadonlySet<string>): string {
  if (refused.size === 0) return answer;
  const closedByOffer = new Set(mediaSections(offer).filter((section) => section.port === 0).map((section) => section.mid));
  const [session = '', ...media] = answer.split(/\r?\n(?=m=)/);
  const sessionLines = session.split(/\r?\n/).flatMap((line) => {
    if (!line.startsWith('a=group:BUNDLE')) return [line];
    const kept = line.slice('a=group:BUNDLE'.length).trim().split(/\s+/).filter((mid) => mid !== '' && !closedByOffer.has(mid));
    return kept.length > 0 ? [`a=group:BUNDLE ${kept.join(' ')}`] : [];
  });
  const sections = media.map((section) => {
    const mid = midOf(section);
    if (!refused.has(mid) || closedByOffer.has(mid)) return section;
    return section.replace(/^(m=\S+) \d+ /, '$1 9 ').replace(/^a=(sendrecv|sendonly|recvonly)$/m, 'a=inactive');
  });
  return [sessionLines.join('\r\n'), ...sections].join('\r\n');
}

/** Each m-line's mid and port, in order. */
function mediaSections(sdp: string): { mid: string; port: number }[] {
  return sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map((section) => ({ mid: midOf(section), port: Number(section.split(' ')[1]) }));
}

function midOf(section: string): string {
  return /^a=mid:(\S+)/m.exec(section)?.[1] ?? '';
}

/** The OWT SDK sends candidates with the `a=` of their SDP line; libraries want `candidate:…`. */
export function candidateAttribute(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}
