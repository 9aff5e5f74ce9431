/**
 * Compiles contracts/src with the npm `solc` (the bundled wasm compiler: compiler downloads do
 * not work everywhere this builds). The input is fixed - sources sorted, settings constant - so
 * the output is byte-for-byte reproducible, and `sourceManifest()` can tell whether the
 * committed artifacts in contracts/generated were produced from the sources on disk.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

import { NektarError } from "../../services/core/errors.js";

/** Solidity settings: Prague for the EIP-2537 precompiles, optimizer tuned for calls, not deploys. */
export const COMPILER_SETTINGS = {
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: true,
  // The metadata hash would change the bytecode on every comment edit; the manifest already
  // pins the sources.
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
} as const;

/** Compiled form of one contract: its ABI and creation bytecode. */
export interface ContractArtifact {
  contractName: string;
  /** Source unit name, e.g. `src/TaskManager.sol`. */
  sourceName: string;
  abi: AbiFragment[];
  bytecode: string;
}

/** The subset of the Solidity JSON ABI the code generator reads. */
export interface AbiParameter {
  name: string;
  type: string;
  internalType?: string;
  indexed?: boolean;
  components?: AbiParameter[];
}

export interface AbiFragment {
  type: "function" | "event" | "error" | "constructor" | "receive" | "fallback";
  name?: string;
  inputs?: AbiParameter[];
  outputs?: AbiParameter[];
  stateMutability?: "pure" | "view" | "nonpayable" | "payable";
  anonymous?: boolean;
}

/** Every source the compiler read, with its sha256, plus the compiler and tool versions. */
export interface SourceManifest {
  compiler: string;
  settings: string;
  sources: Record<string, string>;
}

/** Folders, found from this file so it works from contracts/ (jest) and dist/contracts/ (node). */
export function contractsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new NektarError("contracts toolchain: cannot find the repository root (no package.json above)");
    dir = parent;
  }
  return join(dir, "contracts");
}

/** The toolchain files whose edits change the generated output, hashed into the manifest. */
const TOOLCHAIN_FILES = ["toolchain/compile.ts", "toolchain/codegen.ts"];

const require = createRequire(import.meta.url);

/** Source unit names of every .sol file under contracts/src, sorted (`src/...`). */
export function listSources(): string[] {
  const root = contractsDir();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".sol")) out.push(relative(root, path).split(sep).join("/"));
    }
  };
  walk(join(root, "src"));
  return out;
}

/** Reads a source unit: `src/...` from contracts/, `@scope/pkg/...` from node_modules. */
function readSource(unit: string): string {
  if (unit.startsWith("src/")) return readFileSync(join(contractsDir(), unit), "utf8");
  if (unit.startsWith("@")) {
    const [scope, pkg, ...rest] = unit.split("/");
    const pkgJson = require.resolve(`${scope}/${pkg}/package.json`);
    return readFileSync(join(dirname(pkgJson), ...rest), "utf8");
  }
  throw new NektarError(`contracts toolchain: cannot resolve import "${unit}" (only src/ and npm packages)`);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function manifestOf(units: Iterable<string>): SourceManifest {
  const sources: Record<string, string> = {};
  for (const unit of [...units].sort()) sources[unit] = sha256(readSource(unit));
  for (const file of TOOLCHAIN_FILES) sources[`toolchain:${file}`] = sha256(readFileSync(join(contractsDir(), file), "utf8"));
  return { compiler: solcVersion(), settings: JSON.stringify(COMPILER_SETTINGS), sources };
}

/** The installed compiler's version, read without loading the wasm. */
export function solcVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve("solc/package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * The manifest of the sources as they are on disk now, for the units `previous` lists plus any
 * new file under contracts/src: equal to the committed manifest iff the artifacts are current.
 */
export function currentManifest(previous: SourceManifest): SourceManifest {
  const units = new Set([...Object.keys(previous.sources).filter((u) => !u.startsWith("toolchain:")), ...listSources()]);
  const present = [...units].filter((u) => !u.startsWith("src/") || existsSync(join(contractsDir(), u)));
  return manifestOf(present);
}

interface SolcError {
  severity: "error" | "warning" | "info";
  formattedMessage: string;
  sourceLocation?: { file: string };
}

interface SolcOutput {
  errors?: SolcError[];
  sources?: Record<string, unknown>;
  contracts?: Record<string, Record<string, { abi: AbiFragment[]; evm: { bytecode: { object: string } } }>>;
}

/**
 * Compiles every source under contracts/src. Errors, and warnings in our own sources, fail the
 * build; warnings in npm dependencies are theirs to fix.
 */
export function compileAll(): { artifacts: ContractArtifact[]; manifest: SourceManifest } {
  const units = listSources();
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(units.map((u) => [u, { content: readSource(u) }])),
    settings: COMPILER_SETTINGS,
  };
  const findImports = (path: string): { contents: string } | { error: string } => {
    try {
      return { contents: readSource(path) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const problems = (output.errors ?? []).filter(
    (e) => e.severity === "error" || (e.severity === "warning" && e.sourceLocation?.file.startsWith("src/")),
  );
  if (problems.length > 0) {
    throw new NektarError(`solc ${solcVersion()} rejected contracts/src:\n${problems.map((e) => e.formattedMessage).join("\n")}`);
  }
  const artifacts: ContractArtifact[] = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (!sourceName.startsWith("src/")) continue;
    for (const [contractName, c] of Object.entries(contracts).sort(([a], [b]) => a.localeCompare(b))) {
      // Interfaces have nothing to deploy; internal libraries have no function to call.
      if (c.evm.bytecode.object === "" || !c.abi.some((f) => f.type === "function")) continue;
      artifacts.push({ contractName, sourceName, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` });
    }
  }
  const names = artifacts.map((a) => a.contractName);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new NektarError(`contracts/src: two contracts are named ${duplicate}; names must be unique`);
  return { artifacts, manifest: manifestOf(Object.keys(output.sources ?? {})) };
}
