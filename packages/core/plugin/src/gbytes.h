/* The few glib functions the plugin calls; every QEMU links glib. GByteArray and GArray are
 * { data, len } structs. */
#ifndef QF_GBYTES_H
#define QF_GBYTES_H

#include <stdint.h>

typedef struct {
    uint8_t *data;
    unsigned int len;
} qf_gbytes;
typedef struct {
    char *data;
    unsigned int len;
} qf_garray;

qf_gbytes *g_byte_array_new(void);
qf_gbytes *g_byte_array_append(qf_gbytes *array, const uint8_t *data, unsigned int len);
uint8_t *g_byte_array_free(qf_gbytes *array, int free_segment);
unsigned int g_array_get_element_size(qf_garray *array);

#endif
