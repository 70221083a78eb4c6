import * as assert from "node:assert/strict";
import * as debuggable from "@pulumi/pulumi/runtime/debuggable";
import { withoutPromiseStacks } from "../components";

// The SDK's promise wrapper (internal: its typings export nothing). It stores
// `new Error().stack` on the promise it is given, as `_debugStackTrace`.
const { debuggablePromise } = debuggable as unknown as { debuggablePromise<T>(p: Promise<T>, ctx: string): Promise<T> };
const stackOf = (p: Promise<unknown>) => (p as unknown as { _debugStackTrace: string })._debugStackTrace;

describe("withoutPromiseStacks", () => {
  let leaks: string | undefined;
  beforeEach(() => { leaks = process.env.PULUMI_DEBUG_PROMISE_LEAKS; delete process.env.PULUMI_DEBUG_PROMISE_LEAKS; });
  afterEach(() => { if (leaks === undefined) delete process.env.PULUMI_DEBUG_PROMISE_LEAKS; else process.env.PULUMI_DEBUG_PROMISE_LEAKS = leaks; });

  it("leaves the SDK's promise stack traces empty, inside and after", async () => {
    const inside = Promise.resolve("inside");
    const result = withoutPromiseStacks(() => debuggablePromise(inside, "inside"));
    const after = Promise.resolve("after");
    const tracked = debuggablePromise(after, "after");
    assert.equal(await result, "inside");
    await tracked;
    assert.equal(stackOf(inside), "", "a debuggablePromise stack was formatted: did the SDK rename debuggablePromise? (components/promise-stacks.ts)");
    assert.equal(stackOf(after), "");
  });

  it("keeps other stack traces: the frame that threw inside, full depth after", () => {
    const thrown = withoutPromiseStacks(() => new Error("inside"));
    assert.match(thrown.stack ?? "", /^Error: inside\n {4}at .*promise-stacks\.test\.ts:\d+:\d+\)?$/);
    const later = new Error("after");
    assert.ok((later.stack ?? "").split("\n").length > 2, later.stack);
  });

  it("restores the stack depth, also when building throws", () => {
    const limit = Error.stackTraceLimit;
    assert.equal(withoutPromiseStacks(() => Error.stackTraceLimit), 1);
    assert.equal(Error.stackTraceLimit, limit);
    assert.throws(() => withoutPromiseStacks(() => { throw new Error("bad tenant"); }), /bad tenant/);
    assert.equal(Error.stackTraceLimit, limit);
  });

  it("steps aside when PULUMI_DEBUG_PROMISE_LEAKS asks the SDK for those traces", async () => {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    const limit = Error.stackTraceLimit;
    const p = Promise.resolve(1);
    const inner = withoutPromiseStacks(() => [Error.stackTraceLimit, debuggablePromise(p, "debug")] as const);
    assert.equal(inner[0], limit);
    await inner[1];
    assert.match(stackOf(p), /debuggablePromise/);
  });
});
