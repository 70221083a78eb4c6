import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseConfig, runStack } from "./harness";
import { parentType } from "./mocks";

// Child names are part of the public contract: renaming one makes Pulumi
// delete and recreate the object (a new deploy key, a recreated namespace).
// This snapshot makes a rename a conscious decision: regenerate it with
// UPDATE_SNAPSHOTS=1 npm test, and ship an alias with the rename.
const snapshot = path.join(__dirname, "snapshots", "stack-resources.json");

describe("resource names", () => {
  it("match the snapshot (type, name, parent) for the example stack", async () => {
    const { mocks } = await runStack(baseConfig());
    const actual = mocks.resources
      .map((r) => `${r.type} ${r.name} <- ${parentType(r) || "stack"}`)
      .sort();
    if (process.env.UPDATE_SNAPSHOTS === "1") fs.writeFileSync(snapshot, JSON.stringify(actual, null, 2) + "\n");
    const expected = JSON.parse(fs.readFileSync(snapshot, "utf8")) as string[];
    assert.deepEqual(actual, expected);
  });
});
