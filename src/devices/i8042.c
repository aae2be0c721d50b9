#include "i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

#define I8042_AUX_IRQ		12
#define I8042_QUEUE		16

/* Controller commands (port 0x64). */
enum {
	CMD_READ_RAM = 0x20,	/* 0x20-0x3f: byte 0 is the CTR */
	CMD_WRITE_RAM = 0x60,	/* 0x60-0x7f */
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_INPUT = 0xc0,
	CMD_READ_OUTPUT = 0xd0,
	CMD_WRITE_OUTPUT = 0xd1,
	CMD_WRITE_KBD_OBUF = 0xd2,
	CMD_WRITE_AUX_OBUF = 0xd3,	/* Linux's AUX loopback test */
	CMD_WRITE_AUX = 0xd4,
	CMD_A20_OFF = 0xdd,
	CMD_A20_ON = 0xdf,
	CMD_READ_TEST = 0xe0,
	CMD_PULSE = 0xf0,	/* 0xf0-0xff: pulse output lines whose bit is 0 */
};

#define SELF_TEST_OK		0x55
#define PORT_TEST_OK		0x00
#define PORT_TEST_CLOCK_LOW	0x01	/* what a controller without a mouse port says */
#define PS2_RESEND		0xfe
#define OUTPORT_RESET_HIGH	0x01	/* bit 0 low holds the CPU in reset */
#define OUTPORT_A20		0x02
#define INPORT_UNLOCKED		0x80

struct i8042 {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t ctr, outport;
	uint8_t pending;	/* command waiting for its data byte, or 0 */
	bool last_was_cmd;
	uint8_t last_data;	/* reading an empty buffer returns the last byte */
	struct {
		uint8_t data;
		bool aux;
	} q[I8042_QUEUE];
	unsigned head, count;
	int kbd_level, aux_level;
};

static void push(struct i8042 *k, uint8_t v, bool aux)
{
	if (k->count == I8042_QUEUE)
		return;		/* nothing we generate comes this far */
	k->q[(k->head + k->count) % I8042_QUEUE].data = v;
	k->q[(k->head + k->count) % I8042_QUEUE].aux = aux;
	k->count++;
}

static void set_line(struct i8042 *k, uint32_t irq, int *cur, int level)
{
	if (*cur == level)
		return;
	*cur = level;
	int ret = vm__irq_line(k->vm, irq, level);
	if (ret)
		pr_warn("i8042: vm__irq_line(%u, %d) failed: %s", irq, level, strerror(-ret));
}

/* A full output buffer interrupts on its port's line if the CTR allows. */
static void update_irq(struct i8042 *k)
{
	bool full = k->count != 0, aux = full && k->q[k->head].aux;

	set_line(k, I8042_KBD_IRQ, &k->kbd_level, full && !aux && (k->ctr & I8042_CTR_KBDINT));
	set_line(k, I8042_AUX_IRQ, &k->aux_level, aux && (k->ctr & I8042_CTR_AUXINT));
}

static void reset(struct i8042 *k, const char *how)
{
	vm__request_stop(k->vm, MVM_EXIT_REBOOT, "guest reset (i8042%s)", how);
}

static void command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
		push(k, cmd == CMD_READ_RAM ? k->ctr : 0, false);
		return;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		k->pending = cmd;
		return;
	}
	if (cmd >= CMD_PULSE) {
		if (!(cmd & OUTPORT_RESET_HIGH))
			reset(k, "");
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE: k->ctr |= I8042_CTR_AUXDIS; break;
	case CMD_AUX_ENABLE: k->ctr &= ~I8042_CTR_AUXDIS; break;
	case CMD_AUX_TEST: push(k, PORT_TEST_CLOCK_LOW, false); break;
	case CMD_SELF_TEST: push(k, SELF_TEST_OK, false); break;
	case CMD_KBD_TEST: push(k, PORT_TEST_OK, false); break;
	case CMD_KBD_DISABLE: k->ctr |= I8042_CTR_KBDDIS; break;
	case CMD_KBD_ENABLE: k->ctr &= ~I8042_CTR_KBDDIS; break;
	case CMD_READ_INPUT: push(k, INPORT_UNLOCKED, false); break;
	case CMD_READ_OUTPUT: push(k, k->outport, false); break;
	case CMD_A20_OFF: k->outport &= ~OUTPORT_A20; break;
	case CMD_A20_ON: k->outport |= OUTPORT_A20; break;
	case CMD_READ_TEST: push(k, 0, false); break;
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	default:
		break;		/* vendor commands: accepted, no answer */
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case 0:
		/*
		 * A byte for the keyboard, which is absent: answer "resend" at
		 * once so the driver gives up instead of waiting for an ACK.
		 */
		k->ctr &= ~I8042_CTR_KBDDIS;
		push(k, PS2_RESEND, false);
		break;
	case CMD_WRITE_RAM:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTPUT:
		k->outport = v;
		if (!(v & OUTPORT_RESET_HIGH))
			reset(k, " output port");
		break;
	case CMD_WRITE_KBD_OBUF:
		push(k, v, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		/* Echoed without the AUX flag: Linux reads that as "no AUX port". */
		push(k, v, false);
		break;
	case CMD_WRITE_AUX:
		push(k, PS2_RESEND, true);
		break;
	default:
		break;		/* the rest of the controller RAM */
	}
}

static uint8_t status(const struct i8042 *k)
{
	uint8_t s = I8042_STR_UNLOCKED;

	if (k->ctr & I8042_CTR_SYS)
		s |= I8042_STR_SYS;
	if (k->last_was_cmd)
		s |= I8042_STR_CMD;
	if (k->count) {
		s |= I8042_STR_OBF;
		if (k->q[k->head].aux)
			s |= I8042_STR_AUXDATA;
	}
	return s;	/* IBF never: we take each byte as it is written */
}

static uint8_t data_read(struct i8042 *k)
{
	if (k->count) {
		k->last_data = k->q[k->head].data;
		k->head = (k->head + 1) % I8042_QUEUE;
		k->count--;
	}
	return k->last_data;
}

static void i8042__io(void *opaque, uint64_t port, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	/* Each range is one port; a wide access repeats it, as on the ISA bus. */
	for (uint32_t i = 0; i < len; i++) {
		if (port == I8042_CMD_PORT) {
			if (is_write) {
				k->last_was_cmd = true;
				command(k, data[i]);
			} else {
				data[i] = status(k);
			}
		} else if (is_write) {
			k->last_was_cmd = false;
			data_write(k, data[i]);
		} else {
			data[i] = data_read(k);
		}
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042__data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			   bool is_write)
{
	i8042__io(opaque, I8042_DATA_PORT, data, len, is_write);
}

static void i8042__cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write)
{
	i8042__io(opaque, I8042_CMD_PORT, data, len, is_write);
}

static void i8042__destroy(struct device *d)
{
	struct i8042 *k = d->opaque;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042__init(struct vm *vm, struct i8042 **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	/* What PC firmware leaves: translated keyboard with interrupts, POST passed. */
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | I8042_CTR_XLATE;
	k->outport = OUTPORT_RESET_HIGH | OUTPORT_A20;

	k->dev = (struct device){ .name = "i8042", .opaque = k, .destroy = i8042__destroy };
	device__register(vm, &k->dev);
	ret = bus__register(&vm->pio, I8042_DATA_PORT, 1, i8042__data_io, k, "i8042-data");
	if (!ret)
		ret = bus__register(&vm->pio, I8042_CMD_PORT, 1, i8042__cmd_io, k, "i8042-cmd");
	if (ret) {
		pr_err("bus__register(i8042 at 0x60/0x64) failed: %s; another device claims "
		       "those ports", strerror(-ret));
		return ret;
	}
	if (out)
		*out = k;
	return 0;
}
