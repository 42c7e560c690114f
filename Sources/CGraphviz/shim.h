// Graphviz's layout and rendering library (libgvc) and graph library (libcgraph), as one module.
// Only Sources/Render/GraphvizRenderer.swift imports it.
#ifndef GRAPHCHECK_CGRAPHVIZ_SHIM_H
#define GRAPHCHECK_CGRAPHVIZ_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dlfcn.h>
#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>

/// The file of the shared library that holds `address` (used to find libgvc's plugin folder), or NULL.
static inline const char *graphcheck_library_file(const void *address) {
    Dl_info info;
    if (dladdr(address, &info) != 0 && info.dli_fname != NULL) return info.dli_fname;
    return NULL;
}
/// cgraph's edge ends are macros, which Swift cannot call.
static inline Agnode_t *graphcheck_edge_tail(Agedge_t *edge) { return agtail(edge); }
static inline Agnode_t *graphcheck_edge_head(Agedge_t *edge) { return aghead(edge); }
#endif
