/**
 * True for a bot's account (an app's `<slug>[bot]`, Drover's own included), as GitHub shows it: by its
 * type where the payload gives one, by its login otherwise. Bots never start or steer work, are never
 * credited, and their comments are not discussion for the agent.
 */
export function isBot(user: { login: string; type?: string | null | undefined }): boolean {
  return user.type === "Bot" || user.login.endsWith("[bot]");
}
