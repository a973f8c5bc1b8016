// `npm start`: web and worker in one process. Wiring only.
import { run } from "probot";
import {
  appCredentials,
  createLogger,
  environment,
  loadDotEnv,
  onShutdown,
  openServices,
  startWeb,
  startWorkers,
} from "./boot.ts";
import { startTracing } from "../lib/telemetry.ts";
import { startHousekeeping } from "../scheduler/housekeeping.ts";

loadDotEnv();
// First, so every span is recorded: on only when the OTEL_* variables ask for traces.
const tracing = await startTracing();
const env = environment();
const log = createLogger();
const credentials = appCredentials(env);
if (!credentials) {
  // No app yet: Probot serves the "register a GitHub App" page built from app.yml.
  await run(() => {});
} else {
  const services = await openServices(env, log);
  const web = await startWeb(services, credentials);
  const worker = await startWorkers(services, credentials);
  const housekeeping = startHousekeeping({ db: services.database.db, env, log });
  onShutdown(log, [
    () => web.stop(),
    housekeeping.stop,
    worker.close,
    services.close,
    async () => tracing?.shutdown(),
  ]);
}
