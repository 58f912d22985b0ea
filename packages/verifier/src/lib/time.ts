import { HooklineError } from '@hookline/errors';

const UNIX_SECONDS = /^\d{1,12}$/;

/** Parses unix seconds strictly: digits only. NaN, signs, decimals and spaces are `timestamp_invalid`, never a pass. */
export function parseUnixSeconds(text: string, header: string): number {
  if (!UNIX_SECONDS.test(text)) {
    throw new HooklineError('timestamp_invalid', `The ${header} header is not a unix timestamp.`, { details: { header } });
  }
  return Number(text);
}

/** Refuses a timestamp further than `toleranceSeconds` from now, in either direction. */
export function assertWithinTolerance(timestampSeconds: number, nowMs: number, toleranceSeconds: number, header: string): void {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (Math.abs(nowSeconds - timestampSeconds) > toleranceSeconds) {
    throw new HooklineError(
      'timestamp_out_of_window',
      `The ${header} timestamp is more than ${toleranceSeconds} seconds from now.`,
      { details: { header, toleranceSeconds } },
    );
  }
}
