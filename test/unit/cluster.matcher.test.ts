import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matcherFor, originMatcher, type MatchCandidate, type WorkerInfo } from '../../src/cluster/index.js';

function portal(id: string, isps: string[], regions: string[]): MatchCandidate {
  const info: WorkerInfo = {
    ip: '127.0.0.1', hostname: 'host', port: 8080, via_host: '', ssl: false, state: 2, maxLoad: 0.85,
    capacity: { isps, regions },
  };
  return { id, info };
}

const ids = (matched: readonly MatchCandidate[]) => matched.map(({ id }) => id);

describe('portal matcher', () => {
  const open = portal('open', [], []);
  const ispA = portal('isp-a', ['isp-a'], []);
  const ispAEast = portal('isp-a-east', ['isp-a'], ['east']);
  const west = portal('west', [], ['west']);

  it('drops portals that list ISPs without the preferred one and keeps those that list none', () => {
    assert.deepEqual(ids(originMatcher([open, ispA, west], { isp: 'isp-b' })), ['open', 'west']);
    assert.deepEqual(ids(originMatcher([open, ispA], { isp: 'isp-a' })), ['open', 'isp-a']);
  });

  it('a preference without an ISP only gets portals that do not restrict ISPs', () => {
    assert.deepEqual(ids(originMatcher([open, ispA, west], {})), ['open', 'west']);
  });

  it('prefers the ISP-applicable portals that list the preferred region', () => {
    assert.deepEqual(ids(originMatcher([open, ispAEast, west], { isp: 'isp-a', region: 'east' })), ['isp-a-east']);
    assert.deepEqual(ids(originMatcher([open, ispAEast, west], { isp: 'isp-b', region: 'west' })), ['west']);
  });

  it('falls back to every applicable portal when none lists the preferred region', () => {
    assert.deepEqual(ids(originMatcher([open, west], { region: 'north' })), ['open', 'west']);
  });

  it('matches nothing when every portal is restricted to other ISPs', () => {
    assert.deepEqual(ids(originMatcher([ispA, ispAEast], { isp: 'isp-z', region: 'east' })), []);
  });

  it('conference workers all match whatever the preference', () => {
    assert.deepEqual(ids(matcherFor('conference')([ispA, west], { isp: 'isp-z', region: 'north' })), ['isp-a', 'west']);
    assert.equal(matcherFor('portal'), originMatcher);
    assert.equal(matcherFor('webrtc'), originMatcher);
  });
});
