import { execa } from "execa";

/** `ls -A` of a container's secret dir as root, or "(none)" when it does not exist. */
export async function secretFiles(id: string, dir: string): Promise<string> {
  const ls = await execa("docker", ["exec", "-u", "0", id, "ls", "-A", dir], { reject: false });
  return ls.exitCode === 0 ? ls.stdout : "(none)";
}

/**
 * What a signed-out container holds: no credentials. The agent, still running, may already have
 * noticed the sign-out and left its status note (issue 10) for a profile; each note left says
 * so. Returns the files other than such notes, which a caller expects to be none.
 */
export async function filesAfterSignOut(id: string, dir: string): Promise<string[]> {
  const listed = await secretFiles(id, dir);
  const files = listed === "(none)" ? [] : listed.split("\n");
  const others: string[] = [];
  for (const file of files) {
    const profile = /^(.+)\.note$/.exec(file)?.[1];
    const note = profile
      ? (await execa("docker", ["exec", "-u", "0", id, "cat", `${dir}/${file}`], { reject: false })).stdout
      : "";
    if (!profile || !note.includes(`cannot get credentials for profile ${profile}: you are signed out of`)) {
      others.push(note ? `${file}: ${note}` : file);
    }
  }
  return others;
}
