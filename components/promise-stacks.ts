/**
 * The Pulumi SDK (3.248) wraps every promise it tracks in `debuggablePromise`,
 * which stores `new Error().stack` on it: about thirty per resource (four per
 * output property, more for the URN, ID and registration). It reads those
 * strings only when `PULUMI_DEBUG_PROMISE_LEAKS` is set, to print promises
 * still pending at exit. Yet each one is captured and, under ts-node or the
 * language host's source-map-support, formatted frame by frame through source
 * maps as it is taken: two thirds of the stack program's time under mocks
 * (docs/BENCHMARKS.md).
 */
const SDK_PROMISE_FRAME = "debuggablePromise";

type PrepareStackTrace = (err: Error, frames: NodeJS.CallSite[]) => unknown;
const FILTER = Symbol.for("flux-capsule.skipSdkPromiseStacks");

/** `PULUMI_DEBUG_PROMISE_LEAKS` as of the last {@link withoutPromiseStacks} (read once per call, not per stack). */
let debugLeaks = false;

/**
 * Puts a formatter in front of the installed `Error.prepareStackTrace` (ts-node's
 * or source-map-support's) that returns "" for stacks captured by the SDK's
 * `debuggablePromise` (unless `PULUMI_DEBUG_PROMISE_LEAKS` is set) and hands
 * every other stack on unchanged. Once per process, unless the formatter has
 * been replaced since.
 */
function skipSdkPromiseStacks(): void {
  const current = Error.prepareStackTrace as (PrepareStackTrace & { [FILTER]?: true }) | undefined;
  if (current?.[FILTER]) return;
  const filter: PrepareStackTrace & { [FILTER]?: true } = (err, frames) => {
    if (!debugLeaks && frames[0]?.getFunctionName() === SDK_PROMISE_FRAME) return "";
    return current ? current(err, frames) : `${String(err)}${frames.map((f) => `\n    at ${String(f)}`).join("")}`;
  };
  filter[FILTER] = true;
  Error.prepareStackTrace = filter;
}

/**
 * Runs `build`, which creates resources synchronously, without paying for the
 * SDK's promise stack traces: they are no longer formatted (from here on, in
 * this process) and, while `build` runs, captured one frame deep
 * (`Error.stackTraceLimit` 1, restored afterwards). Errors thrown inside
 * `build` keep the frame that threw; resource source positions are
 * unaffected (the SDK takes those with an unlimited depth of its own). With
 * `PULUMI_DEBUG_PROMISE_LEAKS` set, when the SDK prints those traces, it just
 * runs `build`.
 */
export function withoutPromiseStacks<T>(build: () => T): T {
  debugLeaks = Boolean(process.env.PULUMI_DEBUG_PROMISE_LEAKS);
  if (debugLeaks) return build();
  skipSdkPromiseStacks();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
