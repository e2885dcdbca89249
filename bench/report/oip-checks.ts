/**
 * The acceptance checks of the Open Inference Protocol comparison (issue #22): plinth's v2 infer
 * throughput against each peer's, and its p99 against each peer's at the shared fixed rate, for
 * each body; a body a peer does not accept is N/A with the reason, never a figure.
 */
import type { FixedRateResult } from "../load/fixed-rate.js";
import type { SaturationResult } from "../load/saturation.js";
import type { OipLoad, OipResult } from "../oip-phase.js";
import { BODY_TITLES, OIP_BODIES, type OipBody } from "../oip-request.js";
import { OIP_PEERS, type OipPeer } from "../targets/oip-peers.js";
import { ratioCheck, type Check, type Figure, type Target } from "./checks.js";
import { OIP_TITLES } from "./curve-charts.js";

export interface OipTargets {
  readonly throughputVsPeer: Target;
  readonly p99VsPeer: Target;
}

/** How a figure of a phase is read (acceptance.ts: with a caveat when requests failed). */
export interface FigureReaders {
  readonly throughputOf: (result: SaturationResult | undefined) => Figure | undefined;
  readonly p99Of: (result: FixedRateResult | undefined) => Figure | undefined;
}

/** Why the check has no figure: the peer refused the body, or the comparison did not run. */
function missingNote(oip: OipResult | undefined, load: OipLoad | undefined): string | undefined {
  if (oip === undefined) return "no v2 comparison in this run (--no-peer)";
  return load?.unsupported === undefined ? undefined : `not supported: ${load.unsupported}`;
}

/** A check, with the reason in place of the generic "not measured" notes when there is one. */
function explained(check: Check, note: string | undefined): Check {
  return note === undefined ? check : { ...check, notes: [note] };
}

function peerChecks(
  oip: OipResult | undefined,
  body: OipBody,
  peer: OipPeer,
  targets: OipTargets,
  read: FigureReaders,
): Check[] {
  const plinth = oip?.servers.service?.bodies?.[body];
  const theirs = oip?.servers[peer]?.bodies?.[body];
  const note = missingNote(oip, theirs);
  const rate = oip?.rates?.[body];
  const at = rate === undefined ? "the shared fixed rate" : `${Math.round(rate)} req/s`;
  return [
    explained(
      ratioCheck(
        `v2 infer throughput, ${BODY_TITLES[body]} / ${OIP_TITLES[peer]}`,
        read.throughputOf(plinth?.saturation),
        read.throughputOf(theirs?.saturation),
        targets.throughputVsPeer,
      ),
      note,
    ),
    explained(
      ratioCheck(
        `v2 p99, ${BODY_TITLES[body]} / ${OIP_TITLES[peer]} p99, both at ${at}`,
        read.p99Of(plinth?.fixedRate),
        read.p99Of(theirs?.fixedRate),
        targets.p99VsPeer,
      ),
      note,
    ),
  ];
}

/** For each body, each peer: throughput ratio, then p99 ratio. */
export function oipChecks(oip: OipResult | undefined, targets: OipTargets, read: FigureReaders): Check[] {
  return OIP_BODIES.flatMap((body) =>
    OIP_PEERS.flatMap((peer) => peerChecks(oip, body, peer, targets, read)),
  );
}
