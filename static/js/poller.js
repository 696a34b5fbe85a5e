/**
 * Repeat an async `tick` every `ms` until it returns false or stop() is called. The next
 * tick is scheduled only after the previous one settled, so a slow server is never asked
 * twice at once; a failing tick is retried (the tick reports its own errors).
 */
export function poll(tick, ms) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    timer = null;
    let again = true;
    try {
      again = (await tick()) !== false;
    } catch {
      again = true;
    }
    if (again && !stopped) timer = setTimeout(run, ms);
  };
  run();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
