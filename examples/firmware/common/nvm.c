/* nvm / nvm_journal: a record kept in "non-volatile" memory, for power-loss
 * (torn write) campaigns.
 *
 * `nvm` (section .nvm) stands for flash or EEPROM: it is in no ELF segment,
 * so neither QEMU's loader nor the startup code touches it, and a reset
 * keeps it (QEMU keeps RAM across a reset); a power-loss model preserves
 * exactly this range. A fresh QEMU starts with it all zero ("blank").
 *
 * Every boot: validate the store and report (nvm: ok | blank | corrupt), then
 * save the next record (sequence number + 1) and report it (nvm: saved).
 *
 *   nvm          one record, updated in place, word by word: a power cut
 *                between two of its writes leaves a record whose CRC does not
 *                match, found at the next boot: "nvm: corrupt", exit 11
 *   nvm_journal  (-DNVM_JOURNAL) two slots; the update goes to the slot that
 *                does not hold the newest valid record: commit word cleared
 *                first, then the body and its CRC, the commit word last. A cut
 *                anywhere leaves the previous record valid, so the next boot
 *                always finds "nvm: ok" (or "blank" if nothing was ever
 *                committed).
 *
 * Each write to nvm is one aligned 32-bit store, so a data watchpoint's hit
 * count names one write. Symbols, exit codes and write counts: ../README.md. */
#include <stdint.h>
#include "board.h"
#include "io.h"
#include "semihost.h"

#ifndef APP_NAME
#define APP_NAME "nvm"
#endif

#define RECORD_MAGIC   0x4E564D31u  /* "NVM1" */
#define COMMIT_MAGIC   0xC0AA17EDu
#define DATA_WORDS     4u

enum { EXIT_OK = 0, EXIT_HARDFAULT = 6, EXIT_CORRUPT = 11 };

struct nvm_record {
    uint32_t magic;
    uint32_t seq;               /* 1 for the first record saved */
    uint32_t data[DATA_WORDS];  /* payload: a function of seq */
    uint32_t crc;               /* CRC-32 over magic, seq, data */
};

#ifdef NVM_JOURNAL
struct nvm_slot {
    struct nvm_record rec;
    uint32_t commit;            /* COMMIT_MAGIC once rec is complete */
};
struct nvm_store {
    struct nvm_slot slot[2];
};
#else
struct nvm_store {
    struct nvm_record rec;
};
#endif

/* The store. volatile: every access is a real load or store, in order. */
volatile struct nvm_store nvm __attribute__((section(".nvm"), aligned(8)));

#define PARAM __attribute__((section(".params")))
volatile uint32_t nvm_updates PARAM = 2;  /* records saved per boot */

volatile uint32_t nvm_seq;       /* sequence number found at boot (0 = none) */
volatile uint32_t nvm_state;     /* 0 blank, 1 ok, 2 corrupt */
volatile uint32_t nvm_writes;    /* words written to nvm since boot */

static uint32_t crc32_words(const volatile uint32_t *p, uint32_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w = p[i];
        for (int byte = 0; byte < 4; byte++) {
            crc ^= (w >> (8 * byte)) & 0xFFu;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
        }
    }
    return ~crc;
}

static uint32_t record_words_crc(uint32_t seq, const uint32_t *data)
{
    uint32_t w[2 + DATA_WORDS] = { RECORD_MAGIC, seq };
    for (uint32_t i = 0; i < DATA_WORDS; i++)
        w[2 + i] = data[i];
    return crc32_words(w, 2 + DATA_WORDS);
}

static int record_valid(const volatile struct nvm_record *r)
{
    return r->magic == RECORD_MAGIC &&
           r->crc == crc32_words((const volatile uint32_t *)r, 2 + DATA_WORDS);
}

#ifndef NVM_JOURNAL
static int store_blank(void)
{
    const volatile uint32_t *w = (const volatile uint32_t *)&nvm;
    for (uint32_t i = 0; i < sizeof nvm / 4; i++)
        if (w[i] != 0)
            return 0;
    return 1;
}
#endif

static void payload(uint32_t seq, uint32_t *data)
{
    for (uint32_t i = 0; i < DATA_WORDS; i++)
        data[i] = seq * 0x9E3779B9u + i;
}

/* The one place that writes nvm: one 32-bit store. */
static void nvm_write(volatile uint32_t *dst, uint32_t value)
{
    *dst = value;
    nvm_writes++;
}

static void write_record(volatile struct nvm_record *r, uint32_t seq)
{
    uint32_t data[DATA_WORDS];
    payload(seq, data);
    nvm_write(&r->magic, RECORD_MAGIC);
    nvm_write(&r->seq, seq);
    for (uint32_t i = 0; i < DATA_WORDS; i++)
        nvm_write(&r->data[i], data[i]);
    nvm_write(&r->crc, record_words_crc(seq, data));
}

#ifdef NVM_JOURNAL
/* The slot holding the newest committed, valid record, or -1. */
static int newest_slot(void)
{
    int best = -1;
    for (int i = 0; i < 2; i++) {
        const volatile struct nvm_slot *s = &nvm.slot[i];
        if (s->commit == COMMIT_MAGIC && record_valid(&s->rec) &&
            (best < 0 || s->rec.seq > nvm.slot[best].rec.seq))
            best = i;
    }
    return best;
}

/* 0 blank (nothing committed), 1 ok; never corrupt: an uncommitted slot is
 * an interrupted update, and the other slot still holds the last record. */
__attribute__((noinline)) uint32_t nvm_check(void)
{
    int s = newest_slot();
    if (s < 0) {
        nvm_seq = 0;
        return 0;
    }
    nvm_seq = nvm.slot[s].rec.seq;
    return 1;
}

__attribute__((noinline)) void nvm_save(uint32_t seq)
{
    int newest = newest_slot();
    volatile struct nvm_slot *s = &nvm.slot[newest == 0 ? 1 : 0];
    nvm_write(&s->commit, 0);            /* 1: invalidate the target slot */
    write_record(&s->rec, seq);          /* 2..8: body, CRC */
    nvm_write(&s->commit, COMMIT_MAGIC); /* 9: commit */
}
#else
/* 0 blank, 1 ok, 2 corrupt. */
__attribute__((noinline)) uint32_t nvm_check(void)
{
    if (record_valid(&nvm.rec)) {
        nvm_seq = nvm.rec.seq;
        return 1;
    }
    nvm_seq = 0;
    return store_blank() ? 0 : 2;
}

__attribute__((noinline)) void nvm_save(uint32_t seq)
{
    write_record(&nvm.rec, seq);         /* 1..7: magic, seq, data, CRC */
}
#endif

void app_watchdog_bark(void)
{
}

int main(void)
{
    board_init();
    put_str("boot: ");
    put_str(board_name);
    put_line(" " APP_NAME);

    nvm_state = nvm_check();
    if (nvm_state == 2) {
        put_line("nvm: corrupt");
        sh_exit(EXIT_CORRUPT);
    }
    if (nvm_state == 1) {
        put_str("nvm: ok seq ");
        put_dec(nvm_seq);
        put_line("");
    } else {
        put_line("nvm: blank");
    }
    uint32_t seq = nvm_seq;
    for (uint32_t i = 0; i < nvm_updates; i++) {
        seq++;
        nvm_save(seq);
        put_str("nvm: saved seq ");
        put_dec(seq);
        put_line("");
    }
    put_line("done");
    sh_exit(EXIT_OK);
}
