// Old path of job-catalog.ts, kept only until src/scheduler/schedule.ts (changed in parallel) imports
// job-catalog.ts; delete it then.
export * from "./job-catalog.ts";
