/* Prints the header's layout of cmp_plugin_descriptor, for the test that compares it with the
 * Rust definition: size, alignment, then the offset of each field in declaration order. */
#include <stdio.h>

#include "cmp-plugin.h"

#define OFF(f) (unsigned long)offsetof(cmp_plugin_descriptor, f)

int main(void) {
    printf("%lu %lu", (unsigned long)sizeof(cmp_plugin_descriptor),
           (unsigned long)_Alignof(cmp_plugin_descriptor));
    unsigned long offsets[] = {OFF(magic), OFF(abi_version), OFF(struct_size), OFF(kind),
                               OFF(reserved), OFF(name), OFF(version), OFF(free_buffer),
                               OFF(create), OFF(destroy), OFF(exchange), OFF(generate),
                               OFF(load), OFF(public_key), OFF(sign), OFF(decrypt),
                               OFF(key_agreement), OFF(release)};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        printf(" %lu", offsets[i]);
    }
    printf(" %lu %lu\n", (unsigned long)sizeof(cmp_plugin_buffer),
           (unsigned long)offsetof(cmp_plugin_buffer, len));
    return 0;
}
