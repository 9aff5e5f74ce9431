/** File and terminal input for the commands: errors name the file, passwords never come from argv. */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { readPasswordFile } from "../core/crypto/keystore.js";
import { NektarError } from "../core/errors.js";

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new NektarError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new NektarError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The password from `file` if given; otherwise asked on the terminal without echo. Fails when
 * there is no file and no terminal to ask (a script must pass a file).
 */
export async function readPassword(file: string | undefined, question: string): Promise<string> {
  if (file !== undefined) return readPasswordFile(file);
  if (!process.stdin.isTTY) {
    throw new NektarError(`${question}: no --password-file given and no terminal to ask on`);
  }
  return promptHidden(`${question}: `);
}

async function promptHidden(question: string): Promise<string> {
  process.stderr.write(question);
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}
