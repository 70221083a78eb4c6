// The components other Pulumi languages use. Only Platform: its arguments
// are plain data, which is what the schema of the generated SDKs can carry
// (the finer components take resources and Outputs, for TypeScript users).
// The package name, "flux-capsule", comes from package.json next to this file.
export { Platform } from "../components/platform/platform";
