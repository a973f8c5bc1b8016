import type { TestProject } from "vitest/node";
import { installAgentClis, type InstalledClis } from "../helpers/agent-clis.ts";

declare module "vitest" {
  export interface ProvidedContext {
    agentClis: InstalledClis;
  }
}

/**
 * Installs the pinned agent CLIs once for the whole run and hands their paths to the test files. When they
 * cannot be installed here (no registry, a platform without binaries), every test skips and the run says
 * why on one line.
 */
export default async function setup(project: TestProject): Promise<void> {
  const clis = await installAgentClis((line) => console.log(`[agents] ${line}`));
  if (clis.installed) {
    console.log(`[agents] ${Object.values(clis.versions).join("; ")}`);
  } else {
    console.log(`[agents] SKIPPING the real agent CLI tests: ${clis.reason}`);
  }
  project.provide("agentClis", clis);
}
