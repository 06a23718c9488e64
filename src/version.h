/* SPDX-License-Identifier: Apache-2.0 */
/* The release of both modules and of tls-ticket-keys (CHANGES.md lists what each brought). */
#ifndef TK_VERSION_H
#define TK_VERSION_H

#define TK_VERSION "1.0.0"

#endif
