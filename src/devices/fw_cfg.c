#include "fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

#define FW_CFG_ENTRY_MASK	0x3fff	/* bit 14: write, bit 15: arch-local */
#define FW_CFG_ITEM_MAX		8

struct fw_cfg_item {
	uint16_t key;
	uint8_t len;
	uint8_t data[FW_CFG_ITEM_MAX];
};

struct fw_cfg {
	struct device dev;
	pthread_mutex_t lock;
	const struct fw_cfg_item *cur;	/* NULL: unknown key, reads zeros */
	uint32_t offset;
	struct fw_cfg_item items[6];
};

static void fw_cfg__select(struct fw_cfg *f, uint16_t key)
{
	f->cur = NULL;
	f->offset = 0;
	for (size_t i = 0; i < ARRAY_SIZE(f->items); i++)
		if (f->items[i].key == (key & FW_CFG_ENTRY_MASK))
			f->cur = &f->items[i];
}

static uint8_t fw_cfg__next(struct fw_cfg *f)
{
	if (!f->cur || f->offset >= f->cur->len)
		return 0;
	return f->cur->data[f->offset++];
}

/* QEMU accepts only a 16-bit selector write and 8-bit data reads. */
static void fw_cfg__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct fw_cfg *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (offset == 0 && len == 2 && is_write) {
		fw_cfg__select(f, (uint16_t)(data[0] | data[1] << 8));
	} else if (offset == 1 && len == 1 && !is_write) {
		data[0] = fw_cfg__next(f);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&f->lock);
}

static void fw_cfg__destroy(struct device *d)
{
	struct fw_cfg *f = d->opaque;

	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct fw_cfg_item fw_cfg__le(uint16_t key, uint64_t v, uint8_t len)
{
	struct fw_cfg_item it = { .key = key, .len = len };

	for (uint8_t i = 0; i < len; i++)
		it.data[i] = (uint8_t)(v >> (8 * i));
	return it;
}

int fw_cfg__init(struct vm *vm)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	uint16_t cpus = vm->cfg && vm->cfg->cpus > 0 ? (uint16_t)vm->cfg->cpus : 1;
	int ret;

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->items[0] = (struct fw_cfg_item){ FW_CFG_SIGNATURE, 4, { 'Q', 'E', 'M', 'U' } };
	f->items[1] = fw_cfg__le(FW_CFG_ID, 1, 4);
	f->items[2] = fw_cfg__le(FW_CFG_RAM_SIZE, vm->mem.ram_size, 8);
	f->items[3] = fw_cfg__le(FW_CFG_NB_CPUS, cpus, 2);
	f->items[4] = fw_cfg__le(FW_CFG_MAX_CPUS, cpus, 2);
	f->items[5] = (struct fw_cfg_item){ FW_CFG_FILE_DIR, 4, { 0, 0, 0, 0 } };
	fw_cfg__select(f, FW_CFG_SIGNATURE);
	f->dev = (struct device){ .name = "fw_cfg", .opaque = f, .destroy = fw_cfg__destroy };
	/* Registered first so that a failed bus__register cannot leak @f. */
	device__register(vm, &f->dev);
	ret = bus__register(&vm->pio, FW_CFG_PORT_SEL, 2, fw_cfg__io, f, "fw_cfg");
	if (ret)
		pr_err("bus__register(fw_cfg at 0x%x) failed: %s; another device claims it",
		       FW_CFG_PORT_SEL, strerror(-ret));
	return ret;
}
