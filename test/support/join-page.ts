/** What the join page's video grid shows, for the browser tests and the screenshots. */
import type { Page } from 'playwright-core';
import { waitFor } from './wait.js';

/** The grid tile named `name` (`alice`, or `alice (you)` for one's own picture). */
export const tileOf = (page: Page, name: string) =>
  page.locator('#videos .tile').filter({ has: page.locator(`.tile-name:text-is(${JSON.stringify(name)})`) });

interface Picture {
  width: number;
  frames: number;
}

/** Waits until the tile of `name` plays video: a picture with a size, and frames still arriving. */
export async function seesVideoOf(page: Page, name: string): Promise<void> {
  const video = tileOf(page, name).locator('video');
  const picture = (): Promise<Picture> =>
    video.evaluate((element) => {
      const shown = element as unknown as { videoWidth: number; getVideoPlaybackQuality(): { totalVideoFrames: number } };
      return { width: shown.videoWidth, frames: shown.getVideoPlaybackQuality().totalVideoFrames };
    });
  let first: Picture | undefined;
  await waitFor(
    `the video of ${name} playing`,
    async () => {
      const tiles = await video.count();
      if (tiles !== 1) return `${tiles} tiles of ${name}`;
      const now = await picture();
      first ??= now;
      return (now.width > 0 && now.frames >= first.frames + 10) || `showing ${JSON.stringify(now)}, first ${JSON.stringify(first)}`;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}
