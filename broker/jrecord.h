/* The journal's job record, encoded by hand.
 *
 * Every state change of every job is one JournalJob record, and a profile
 * of the broker showed protobuf-c's generic packer (a size pass, then a
 * pack pass, each walking the field descriptors) costing about as much
 * as all the rest of the broker's work per job. This encoder writes the
 * same proto3 bytes directly: fields in number order, zero values and
 * empty strings left out, as protobuf-c does. Replay still decodes them
 * with protobuf-c; test_jrecord checks the two agree byte for byte.
 */
#ifndef ZJOB_BROKER_JRECORD_H
#define ZJOB_BROKER_JRECORD_H

#include <stddef.h>
#include <stdint.h>

#include "zjob.pb-c.h"

/* An upper bound of the bytes jrecord_encode writes for rec. */
size_t jrecord_bound (const Zjob__JournalJob *rec);

/* Writes rec into out (at least jrecord_bound (rec) bytes); returns the
 * bytes written. */
size_t jrecord_encode (const Zjob__JournalJob *rec, uint8_t *out);

#endif
