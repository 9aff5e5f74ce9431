// Preloaded (`node --import`) into a process that plays a pod in the test cluster, which has no
// kubelet, no pod network and no cluster DNS. The process gets its pod IP (NEKTAR_POD_IP, a
// loopback address of its own): listening on every interface (0.0.0.0) means its IP only, as
// in a pod's network namespace. And it resolves the pods' DNS names (NEKTAR_POD_HOSTS, JSON
// {name: ip}) as the cluster DNS would, from their hostname, subdomain and headless Service.
import dns from "node:dns";
import net from "node:net";

const podIp = process.env.NEKTAR_POD_IP;
const hosts = JSON.parse(process.env.NEKTAR_POD_HOSTS ?? "{}");

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  const cb = typeof options === "function" ? options : callback;
  const opts = typeof options === "object" && options !== null ? options : {};
  const address = hosts[hostname];
  if (address === undefined) return lookup.call(this, hostname, options, callback);
  process.nextTick(() => (opts.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)));
  return undefined;
};

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (podIp !== undefined && typeof first === "object" && first !== null && (first.host === undefined || first.host === "0.0.0.0" || first.host === "::")) {
    args[0] = { ...first, host: podIp };
  }
  return listen.apply(this, args);
};
