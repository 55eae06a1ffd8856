export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns true. Any other answer means "not yet"; a string answer says why,
 * and the last one is reported if the wait times out.
 */
export async function waitFor(
  description: string,
  check: () => boolean | string | Promise<boolean | string>,
  { timeoutMs = 2_000, intervalMs = 5 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason: boolean | string = false;
  for (;;) {
    reason = await check();
    if (reason === true) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const why = typeof reason === 'string' ? `: ${reason}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
}
