import { assertServicesReachable } from "./services.ts";

/** Fails the run early, with one clear line, when PostgreSQL or Redis is not reachable. */
export default async function setup(): Promise<void> {
  await assertServicesReachable();
}
