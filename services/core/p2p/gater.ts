/**
 * The connection gater: only the cluster's operators get a connection, in either direction.
 * A peer proves who it is in the noise handshake; a connection from any other peer id is
 * dropped right after it, before a muxer or a single protocol is offered.
 */
import type { ConnectionGater, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";

/** `members`: each operator's peer id and its multiaddrs from the definition. */
export function clusterGater(members: ReadonlyMap<string, readonly string[]>, onDenied: (peerId: string) => void): ConnectionGater {
  const isMember = (peerId: PeerId): boolean => members.has(peerId.toString());
  const deny = (peerId: PeerId): boolean => {
    if (isMember(peerId)) return false;
    onDenied(peerId.toString());
    return true;
  };
  return {
    denyDialPeer: (peerId) => !isMember(peerId),
    denyDialMultiaddr: (ma) => {
      const peerId = ma.getComponents().findLast((c) => c.name === "p2p")?.value;
      return peerId !== undefined && !members.has(peerId);
    },
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    // The address book holds the definition's addresses and nothing else: a peer cannot
    // redirect our dials (through identify) to somewhere the operators did not sign.
    filterMultiaddrForPeer: (peerId: PeerId, ma: Multiaddr) => members.get(peerId.toString())?.includes(withoutPeerId(ma)) ?? false,
  };
}

function withoutPeerId(ma: Multiaddr): string {
  const components = ma.getComponents();
  const last = components.at(-1);
  return last?.name === "p2p" ? ma.decapsulateCode(last.code).toString() : ma.toString();
}
