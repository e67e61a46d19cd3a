/**
 * The resource limits a build sets for every RUN (`--memory`, `--cpus`, …), as runc's spec takes
 * them (`linux.resources`). runc writes them into the step's cgroup: on cgroup v1 (and hybrid
 * hosts, where runc's fs driver uses the v1 hierarchies) memory.limit_in_bytes and
 * memory.memsw.limit_in_bytes, cpu.cfs_quota_us, cpu.cfs_period_us and cpu.shares, cpuset.cpus
 * and cpuset.mems; on cgroup v2 memory.max, memory.swap.max (swap − memory), cpu.max, cpu.weight
 * (converted from shares) and cpuset.cpus/mems.
 */

export interface StepResources {
  /** `--memory`: bytes of memory; absent or 0 is no limit. */
  memoryBytes?: number;
  /** `--memory-swap`: memory plus swap in bytes; -1 is unlimited swap. */
  memorySwapBytes?: number;
  /** `--cpus` in billionths of a CPU (docker's NanoCPUs): a quota over a 100 ms period. */
  nanoCpus?: number;
  /** `--cpu-quota`: µs per period; -1 is no limit. */
  cpuQuota?: number;
  /** `--cpu-period`: µs. */
  cpuPeriod?: number;
  /** `--cpu-shares`: a relative weight (1024 is the default). */
  cpuShares?: number;
  /** `--cpuset-cpus`, `--cpuset-mems`: lists such as `0-2,5`. */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** `--cgroup-parent`: the step cgroups go below it (relative: to runc's own cgroup; absolute: from the root). */
  cgroupParent?: string;
}

/** docker's period for --cpus (daemon/oci_linux.go): 100 ms. */
export const NANO_CPUS_PERIOD = 100_000;

/**
 * `linux.resources.memory` and `.cpu` of the spec (the pids limit and devices are the spec's own).
 * `swapAccounted`: whether the kernel limits swap (memsw on v1, memory.swap.max on v2); where it
 * does not, swap is left out, as dockerd leaves it out ("Memory limited without swap").
 */
export function resourcesSpec(r: StepResources, swapAccounted: boolean): { memory?: object; cpu?: object } {
  const out: { memory?: object; cpu?: object } = {};
  if (r.memoryBytes) {
    // dockerd: --memory without --memory-swap allows as much swap as memory
    const swap = r.memorySwapBytes ?? r.memoryBytes * 2;
    out.memory = { limit: r.memoryBytes, ...(swapAccounted ? { swap } : {}) };
  }
  const cpu: Record<string, number | string> = {};
  if (r.nanoCpus) {
    cpu.period = NANO_CPUS_PERIOD;
    cpu.quota = Math.floor((r.nanoCpus * NANO_CPUS_PERIOD) / 1e9);
  }
  if (r.cpuQuota !== undefined && r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
  if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  return out;
}

/** The step's cgroupsPath for runc: its own name, below `--cgroup-parent` when one is given. */
export function stepCgroupsPath(id: string, r: StepResources | undefined): string {
  const parent = r?.cgroupParent;
  if (!parent) return id;
  return `${parent.replace(/\/+$/, '')}/${id}`;
}
