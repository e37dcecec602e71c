/* accelerators.h - accelerator device types as xpk names them: GPU device
 * types (l4-1, a100-40gb-8, h100-80gb-8 ...), TPU types by the naming rule
 * (<family>-<cores> or <family>-<topology>), CPU types (<machine type>-<VMs>)
 * and raw GKE accelerator labels (nvidia-tesla-a100) with a GPU count.
 *
 * Everything is filled into a caller-owned struct accel; names come from
 * static tables. Nothing to free.
 */
#ifndef WLRUN_ACCELERATORS_H
#define WLRUN_ACCELERATORS_H

#include <stdbool.h>

#include "buf.h"

enum accel_family { ACCEL_NONE, ACCEL_CPU, ACCEL_GPU, ACCEL_TPU };

struct accel {
	enum accel_family family;
	char type[64];		/* the device type as given */
	char label[64];		/* gke-accelerator / gke-tpu-accelerator value */
	char topology[32];	/* TPU: "2x2x1" */
	char machine_type[64];	/* GPU/CPU machine type, "" when unknown */
	int vms_per_slice;	/* TPU: from the topology; CPU: from the name;
				 * GPU: 0, --num-nodes decides */
	int per_vm;		/* TPU chips or GPUs per VM; 0 for CPU */
	int cores;		/* TPU TensorCores in a slice */
	bool host_network;	/* TPU, L4 and A100 */
	bool arm64;		/* GB200 nodes */
};

/* Resolves type. gpus_per_node (0: not given) only goes with a raw GKE
 * label. 0, or -1 with a one-line message in *why (an unknown type lists
 * the closest valid names). */
int accel_lookup(const char *type, long gpus_per_node, struct accel *out,
		 struct buf *why);
/* Every named device type (GPU, TPU in power-of-two sizes, example CPU
 * types, raw labels), NULL-terminated, for completion and suggestions. */
const char *const *accel_names(void);

#endif
