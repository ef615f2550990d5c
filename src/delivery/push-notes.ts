import type { ContainerDetails, DockerEngine } from "../docker/engine.js";
import { escapeControls } from "../runtime/untrusted-text.js";
import { noteFileName, type ProfileSettings } from "./profile-files.js";
import { runPushScript, type PushOptions, type PushResult } from "./push-credentials.js";

/** Longest note the agent writes; the helper prints no more than this of one either. */
export const MAX_NOTE_CHARS = 400;

/** Why the agent cannot supply one profile of a container, as one line for its users. */
export interface StatusNote {
  profile: string;
  text: string;
}

/**
 * Writes the container's status notes (and removes its other ones) through the same root push
 * that writes credentials, leaving any credentials it holds as they are: they may still be valid,
 * and the helper prints a note only once they are missing or expired. `profiles` is every
 * profile of the container, so a first push also writes the config that leads to the helper.
 */
export function pushStatusNotes(
  engine: DockerEngine,
  details: ContainerDetails,
  profiles: readonly ProfileSettings[],
  notes: readonly StatusNote[],
  options: PushOptions = {},
): Promise<PushResult> {
  const files = notes.map((n) => ({ name: noteFileName(n.profile), content: oneLine(n.text) }));
  return runPushScript(engine, details, { profiles, secretFiles: [], notes: files, secrets: [] }, options);
}

function oneLine(text: string): string {
  const chars = Array.from(escapeControls(text));
  return chars.length > MAX_NOTE_CHARS ? `${chars.slice(0, MAX_NOTE_CHARS - 1).join("")}…` : chars.join("");
}
