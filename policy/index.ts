// The flux-capsule policy pack: `pulumi preview --policy-pack policy`.
// The policies are in policies.ts, their decisions in rules.ts.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("flux-capsule", { policies, enforcementLevel: "mandatory" });
