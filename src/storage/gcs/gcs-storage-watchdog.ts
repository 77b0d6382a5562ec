/**
 * Ends a transfer that makes no progress. @google-cloud/storage bounds each request only until its
 * response starts (and resumable upload requests not at all), so a connection that hangs mid-body would
 * hang the put or the read stream for ever. The watchdog is touched on every chunk moved; when `idleMs`
 * pass without one while the transfer is not waiting on someone else (the caller's source during a put,
 * the caller's reading during a get), `onIdle` ends it.
 */
export interface Watchdog {
  /** Progress was made now. */
  touch(): void;
  stop(): void;
}

export function startWatchdog(
  idleMs: number,
  isWaitingOnCaller: () => boolean,
  onIdle: () => void,
): Watchdog {
  let last = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = (delay: number) => {
    timer = setTimeout(check, delay);
    timer.unref();
  };
  const check = () => {
    const idle = Date.now() - last;
    if (isWaitingOnCaller()) {
      last = Date.now();
      arm(idleMs);
    } else if (idle >= idleMs) {
      timer = undefined;
      onIdle();
    } else {
      arm(idleMs - idle);
    }
  };
  arm(idleMs);
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
