import type { ContainerDetails } from "../docker/engine.js";
import type { Deps } from "../runtime/deps.js";
import type { AgentEmitter } from "./agent-events.js";
import type { RefusedState } from "./agent-state.js";
import type { Binding } from "./binding.js";
import type { Participation } from "./participation.js";

export interface ContainerRefusalsOptions {
  deps: Deps;
  emitter: AgentEmitter;
  onChange: () => void;
}

/** Running containers that ask for credentials but are not bound to this user, and what was said of each. */
export class ContainerRefusals {
  /** For `status`: another user's containers are theirs to show, so only this user's are here. */
  readonly refused = new Map<string, RefusedState>();
  /** What was last said of each refused container, so each verdict is logged once. */
  private readonly told = new Map<string, string>();

  constructor(private readonly options: ContainerRefusalsOptions) {}

  /**
   * Says once per verdict that the container is refused; `drop` ends what the agent did for it
   * (it was supplied before, until its devcontainer.json changed: no further push or refresh).
   */
  refuse(
    details: ContainerDetails,
    participation: Participation,
    binding: Extract<Binding, { bound: false }>,
    drop: () => void,
  ): void {
    const { deps, emitter } = this.options;
    const said = this.told.get(details.id) === binding.status;
    this.told.set(details.id, binding.status);
    deps.logger[said ? "debug" : binding.level](binding.message);
    drop();
    if (binding.level !== "debug") {
      this.refused.set(details.id, {
        id: details.id,
        name: details.name,
        profiles: participation.profiles,
        reason: binding.status,
      });
    }
    emitter.emit("refused", {
      containerId: details.id,
      containerName: details.name,
      reason: binding.status,
      at: deps.clock.now(),
    });
    this.options.onChange();
  }

  /** The container is bound (again): a later refusal is news. */
  accept(id: string): void {
    this.told.delete(id);
    if (this.refused.delete(id)) this.options.onChange();
  }

  /** `destroyed`: the container is gone for good, so its verdict need not be remembered. */
  forget(id: string, destroyed: boolean): void {
    if (destroyed) this.told.delete(id);
    if (this.refused.delete(id)) this.options.onChange();
  }
}
