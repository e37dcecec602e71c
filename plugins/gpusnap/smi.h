/* smi.h - a reader of `nvidia-smi -q -x` output (the nvsmi_device_v*.dtd
 * XML) into the flat data map of the GPU/smi subtype.
 *
 * smi_parse() is a pure function over a byte buffer: it runs no program,
 * reads no file and keeps no state, so a fuzzer can call it. The XML is
 * read by a small tag-stream reader (elements, attributes, text, the five
 * predefined entities and character references, comments, processing
 * instructions, a DOCTYPE line, CDATA); unknown elements are skipped, "N/A"
 * values are dropped. Everything is bounded (depth, name and text sizes,
 * GPU and MIG counts); malformed or truncated input is an error.
 *
 * Keys written (I: the GPU's position in the output, J: the MIG device's
 * position under its GPU):
 *   driver, cuda-version, gpu-count (attached_gpus, else the GPUs listed)
 *   gpu.I.index (minor_number), .uuid, .name, .architecture, .vbios,
 *   .gsp-firmware, .pci-bus-id (pci_bus_id, else the <gpu id="...">
 *   attribute), .persistence-mode, .mig-mode.current,
 *   .mig-mode.pending, .ecc-mode.current, .memory-total (MiB),
 *   .power-limit (W), .clocks.max-graphics, .clocks.max-sm,
 *   .clocks.max-mem (MHz), .mig-devices (count, when listed)
 *   gpu.I.mig.J.index, .gi-id, .ci-id, .sm-count, .memory-total (MiB)
 *   gpu.model, gpu.architecture, gpu.vbios, gpu.gsp-firmware,
 *   gpu.persistence-mode (those of GPU 0, the keys eidos used)
 *   gpu-models (the distinct product names, in order, joined by ", ")
 * A reading with a unit is a number when the value is "<number> <unit>",
 * else the string as given. A GPU's MIG keys follow its other keys.
 * nvidia-smi names no MIG profile in this output, so none is recorded.
 *
 * Ownership: data is borrowed; what is added to it belongs to it. err is
 * the caller's buffer.
 */
#ifndef WLKIT_GPUSNAP_SMI_H
#define WLKIT_GPUSNAP_SMI_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"

#define SMI_MAX_DEPTH 32		/* element nesting */
#define SMI_MAX_NAME 127		/* element and attribute name bytes */
#define SMI_MAX_TEXT (64u << 10)	/* text bytes of one element */
#define SMI_MAX_GPUS 1024
#define SMI_MAX_MIG 128			/* MIG devices of one GPU */

/* Reads len bytes of xml (need not be NUL-terminated) and adds the keys
 * above to data (replacing keys that are there). Returns 0, or -1 with a
 * message in *err ("line N: why") and data unchanged. */
int smi_parse(const char *xml, size_t len, cJSON *data, struct buf *err);

/* Set key in map to a string, number or boolean, replacing a value that
 * is there already. Running out of memory is fatal. */
void smi_put_str(cJSON *map, const char *key, const char *val);
void smi_put_num(cJSON *map, const char *key, double val);
void smi_put_bool(cJSON *map, const char *key, bool val);

#endif
