// libp2p and noble are ESM-only, so the tests run as native ESM (node --experimental-vm-modules,
// set by `npm test`), with swc stripping types. Type checking is `npm run lint`'s job.
//
// Suites that need system components (Python oracles, Docker, kube-apiserver, Lodestar) are
// named *.system.test.ts and run only with NEKTAR_SYSTEM=1 (`npm run test:system`), after
// test/system/provision.sh has built those components.
const system = process.env.NEKTAR_SYSTEM === "1";

/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "es6" },
        sourceMaps: "inline",
      },
    ],
  },
  // Sources import siblings as `./x.js` (NodeNext); jest resolves the `.ts` file.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: [system ? "<rootDir>/**/*.system.test.ts" : "<rootDir>/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/", ...(system ? [] : ["\\.system\\.test\\.ts$"])],
  setupFiles: ["<rootDir>/test/setup.js", "<rootDir>/test/system/env.js"],
  testTimeout: 30000,
};
