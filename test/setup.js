// Node 20 lacks what libp2p expects (Promise.withResolvers): one module polyfills it for every entry point.
import "../services/core/polyfills.js";
