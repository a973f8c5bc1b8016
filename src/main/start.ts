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

loadDotEnv();
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
  onShutdown(log, [() => web.stop(), worker.close, services.close]);
}
