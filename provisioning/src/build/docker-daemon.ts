// The sosna image's Docker Engine config (/etc/docker/daemon.json), written into the full image's rootfs.
// test/sandbox.e2e.test.ts runs its private dockerd with this same config.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The image's Docker Engine config (/etc/docker/daemon.json): jobs are hostile (docs/architecture.md
 * "Hostile workloads"). `userns-remap: default` runs every container in a user namespace, so that a job's
 * root is an unprivileged uid on the device (dockerd makes the `dockremap` user and its /etc/subuid and
 * /etc/subgid ranges with useradd/usermod at its first start); `no-new-privileges` is the engine's default
 * for every container, also those the agent did not start.
 */
export function dockerDaemonConfig(): Record<string, unknown> {
  return { 'userns-remap': 'default', 'no-new-privileges': true };
}

/** Writes dockerDaemonConfig() to the rootfs. */
export function writeDockerDaemonConfig(rootfs: string): string {
  const file = join(rootfs, 'etc', 'docker', 'daemon.json');
  mkdirSync(join(rootfs, 'etc', 'docker'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(dockerDaemonConfig(), null, 2)}\n`);
  return file;
}
