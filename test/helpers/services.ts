import net from "node:net";

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(2000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}

export async function assertServicesReachable(): Promise<void> {
  if (!(await reachable(TEST_DATABASE_URL, 5432))) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL}; start it (see README, "Running the tests").`,
    );
  }
  if (!(await reachable(TEST_REDIS_URL, 6379))) {
    throw new Error(
      `Redis is not reachable at ${TEST_REDIS_URL}; start it (see README, "Running the tests").`,
    );
  }
}
