import { generateKeyPairSync } from "node:crypto";

/** A GitHub App's private key as GitHub hands it out (PKCS#1 PEM), made for a test run. */
export function newAppKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}
