/*
 * AML builder: just the ACPI Machine Language the DSDT needs -- named
 * objects, devices, packages, integers, strings and resource templates.
 * Encodings follow ACPI 6.5 chapter 20 and are checked byte for byte
 * against iasl in tests/unit/test_acpi.c.
 */
#include "acpi.h"

#include "../util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_CHAR		'^'
#define AML_RETURN_OP		0xa4
#define AML_ONES_OP		0xff

/* Resource descriptor tags (ACPI 6.5 section 6.4). */
#define RES_IRQ_NOFLAGS		0x22	/* small, type 4, length 2 */
#define RES_IO			0x47	/* small, type 8, length 7 */
#define RES_END_TAG		0x79	/* small, type 15, length 1 */
#define RES_MEMORY32_FIXED	0x86	/* large */
#define RES_EXT_IRQ		0x89	/* large */

#define PKGLEN_MAX		0x0fffffffu

void acpi__aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void acpi__aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Make room for @n more bytes; false (and a sticky error) when impossible. */
static bool aml_reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return false;
	if (n <= a->cap - a->len)
		return true;
	if (n > PKGLEN_MAX || a->len > PKGLEN_MAX) {
		aml_fail(a, -ERANGE);
		return false;
	}
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		aml_fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void acpi__aml_raw(struct aml *a, const void *p, size_t n)
{
	if (!n || !aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_u8(struct aml *a, uint8_t v)
{
	acpi__aml_raw(a, &v, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned bytes)
{
	uint8_t b[8];

	for (unsigned i = 0; i < bytes; i++)
		b[i] = v >> (8 * i);
	acpi__aml_raw(a, b, bytes);
}

int acpi__aml_pkglen(uint8_t out[4], size_t content)
{
	/* Largest total (content + length bytes) each form can hold. */
	static const size_t max_total[] = { 0x3f, 0xfff, 0xfffff, PKGLEN_MAX };
	size_t total;

	for (unsigned n = 1; n <= 4; n++) {
		if (content > max_total[n - 1] - n)
			continue;
		total = content + n;
		if (n == 1) {
			out[0] = total;
			return 1;
		}
		/* Lead byte: count of following bytes in bits 7:6, low nibble. */
		out[0] = (uint8_t)((n - 1) << 6) | (total & 0x0f);
		for (unsigned i = 1; i < n; i++)
			out[i] = total >> (4 + 8 * (i - 1));
		return n;
	}
	return -ERANGE;
}

static bool seg_char_ok(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !first && c >= '0' && c <= '9';
}

/* One NameSeg from @s up to '.' or NUL; returns chars consumed or -EINVAL. */
static int name_seg(const char *s, char seg[4])
{
	int n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !seg_char_ok(s[n], n == 0))
			return -EINVAL;
		seg[n] = s[n];
		n++;
	}
	if (n == 0)
		return -EINVAL;
	for (int i = n; i < 4; i++)
		seg[i] = '_';
	return n;
}

void acpi__aml_namestring(struct aml *a, const char *path)
{
	char segs[255][4];
	unsigned nsegs = 0;
	const char *p = path;
	int n;

	if (!path) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (*p == AML_ROOT_CHAR) {
		aml_u8(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_CHAR) {
			aml_u8(a, AML_PARENT_CHAR);
			p++;
		}
	}
	if (!*p) {			/* "\" alone: NullName */
		aml_u8(a, 0);
		return;
	}
	for (;;) {
		if (nsegs == ARRAY_SIZE(segs))
			goto bad;
		n = name_seg(p, segs[nsegs]);
		if (n < 0)
			goto bad;
		nsegs++;
		p += n;
		if (!*p)
			break;
		p++;			/* '.' */
	}
	if (nsegs == 2) {
		aml_u8(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_u8(a, AML_MULTI_NAME_PREFIX);
		aml_u8(a, nsegs);
	}
	acpi__aml_raw(a, segs, nsegs * 4);
	return;
bad:
	aml_fail(a, -EINVAL);
}

/* Opcode bytes, then the content a later acpi__aml_end() will length-prefix. */
static size_t aml_open(struct aml *a, const uint8_t *op, size_t oplen)
{
	acpi__aml_raw(a, op, oplen);
	return a->len;
}

void acpi__aml_end(struct aml *a, size_t mark)
{
	uint8_t pl[4];
	size_t content;
	int n;

	if (a->err)
		return;
	if (mark > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	content = a->len - mark;
	n = acpi__aml_pkglen(pl, content);
	if (n < 0) {
		aml_fail(a, n);
		return;
	}
	if (!aml_reserve(a, n))
		return;
	memmove(a->buf + mark + n, a->buf + mark, content);
	memcpy(a->buf + mark, pl, n);
	a->len += n;
}

size_t acpi__aml_scope(struct aml *a, const char *name)
{
	static const uint8_t op[] = { AML_SCOPE_OP };
	size_t mark = aml_open(a, op, sizeof(op));

	acpi__aml_namestring(a, name);
	return mark;
}

size_t acpi__aml_device(struct aml *a, const char *name)
{
	static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	size_t mark = aml_open(a, op, sizeof(op));

	acpi__aml_namestring(a, name);
	return mark;
}

size_t acpi__aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	static const uint8_t op[] = { AML_METHOD_OP };
	size_t mark = aml_open(a, op, sizeof(op));

	if (nargs > 7)
		aml_fail(a, -EINVAL);
	acpi__aml_namestring(a, name);
	aml_u8(a, (nargs & 7) | (serialized ? 0x08 : 0));	/* SyncLevel 0 */
	return mark;
}

size_t acpi__aml_package(struct aml *a, uint8_t nelems)
{
	static const uint8_t op[] = { AML_PACKAGE_OP };
	size_t mark = aml_open(a, op, sizeof(op));

	aml_u8(a, nelems);
	return mark;
}

void acpi__aml_name(struct aml *a, const char *name)
{
	aml_u8(a, AML_NAME_OP);
	acpi__aml_namestring(a, name);
}

void acpi__aml_return(struct aml *a)
{
	aml_u8(a, AML_RETURN_OP);
}

void acpi__aml_byte(struct aml *a, uint8_t v)
{
	aml_u8(a, AML_BYTE_PREFIX);
	aml_u8(a, v);
}

void acpi__aml_word(struct aml *a, uint16_t v)
{
	aml_u8(a, AML_WORD_PREFIX);
	aml_le(a, v, 2);
}

void acpi__aml_dword(struct aml *a, uint32_t v)
{
	aml_u8(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void acpi__aml_qword(struct aml *a, uint64_t v)
{
	aml_u8(a, AML_QWORD_PREFIX);
	aml_le(a, v, 8);
}

void acpi__aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_u8(a, AML_ZERO_OP);
	else if (v == 1)
		aml_u8(a, AML_ONE_OP);
	else if (v == UINT64_MAX)
		aml_u8(a, AML_ONES_OP);
	else if (v <= UINT8_MAX)
		acpi__aml_byte(a, v);
	else if (v <= UINT16_MAX)
		acpi__aml_word(a, v);
	else if (v <= UINT32_MAX)
		acpi__aml_dword(a, v);
	else
		acpi__aml_qword(a, v);
}

void acpi__aml_string(struct aml *a, const char *s)
{
	/* AML strings are ASCII without embedded NULs (ACPI 6.5 section 20.2.3). */
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_u8(a, AML_STRING_PREFIX);
	acpi__aml_raw(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void acpi__aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (!id || strlen(id) != 7)
		goto bad;
	/* Three 5-bit letters ('A' = 1) then 16 bits of product id ... */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			goto bad;
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);
		if (h < 0)
			goto bad;
		v |= (uint32_t)h << (4 * (6 - i));
	}
	/* ... stored big-endian in the DWord. */
	acpi__aml_dword(a, __builtin_bswap32(v));
	return;
bad:
	aml_fail(a, -EINVAL);
}

void acpi__aml_buffer(struct aml *a, const void *data, size_t len)
{
	static const uint8_t op[] = { AML_BUFFER_OP };
	size_t mark = aml_open(a, op, sizeof(op));

	acpi__aml_integer(a, len);	/* BufferSize */
	acpi__aml_raw(a, data, len);
	acpi__aml_end(a, mark);
}

void acpi__res_memory32_fixed(struct aml *r, bool writable, uint32_t base, uint32_t len)
{
	aml_u8(r, RES_MEMORY32_FIXED);
	aml_le(r, 9, 2);
	aml_u8(r, writable ? 1 : 0);
	aml_le(r, base, 4);
	aml_le(r, len, 4);
}

void acpi__res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_u8(r, RES_IO);
	aml_u8(r, 1);			/* decodes 16 address bits */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_u8(r, align);
	aml_u8(r, len);
}

void acpi__res_irq_noflags(struct aml *r, unsigned irq)
{
	if (irq > 15) {
		aml_fail(r, -EINVAL);
		return;
	}
	aml_u8(r, RES_IRQ_NOFLAGS);
	aml_le(r, 1u << irq, 2);
}

void acpi__res_interrupt(struct aml *r, bool level, bool active_low, uint32_t gsi)
{
	/* Bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared. */
	uint8_t flags = 0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0);

	aml_u8(r, RES_EXT_IRQ);
	aml_le(r, 6, 2);		/* flags, count, one DWord */
	aml_u8(r, flags);
	aml_u8(r, 1);
	aml_le(r, gsi, 4);
}

void acpi__aml_restemplate(struct aml *a, const struct aml *r)
{
	static const uint8_t op[] = { AML_BUFFER_OP };
	static const uint8_t end[] = { RES_END_TAG, 0 };
	size_t mark;

	if (r->err) {
		aml_fail(a, r->err);
		return;
	}
	mark = aml_open(a, op, sizeof(op));
	acpi__aml_integer(a, r->len + sizeof(end));
	acpi__aml_raw(a, r->buf, r->len);
	acpi__aml_raw(a, end, sizeof(end));
	acpi__aml_end(a, mark);
}

int acpi__aml_virtio_mmio(struct aml *a, unsigned idx, uint64_t base, uint32_t size,
			  uint32_t gsi)
{
	struct aml crs;
	char name[5];
	size_t dev;

	if (idx > 0xff || base > UINT32_MAX || size > UINT32_MAX - base) {
		aml_fail(a, -EINVAL);
		return a->err;
	}
	snprintf(name, sizeof(name), "VR%02X", idx);
	acpi__aml_init(&crs);
	acpi__res_memory32_fixed(&crs, true, base, size);
	acpi__res_interrupt(&crs, false, false, gsi);

	dev = acpi__aml_device(a, name);
	acpi__aml_name(a, "_HID");
	acpi__aml_string(a, "LNRO0005");
	acpi__aml_name(a, "_UID");
	acpi__aml_integer(a, idx);
	acpi__aml_name(a, "_CRS");
	acpi__aml_restemplate(a, &crs);
	acpi__aml_end(a, dev);
	acpi__aml_free(&crs);
	return a->err;
}

int acpi__aml_com(struct aml *a, unsigned uid, uint16_t port, unsigned irq)
{
	struct aml crs;
	char name[5];
	size_t dev;

	if (uid < 1 || uid > 9) {
		aml_fail(a, -EINVAL);
		return a->err;
	}
	snprintf(name, sizeof(name), "COM%u", uid);
	acpi__aml_init(&crs);
	acpi__res_io(&crs, port, port, 1, 8);
	acpi__res_irq_noflags(&crs, irq);

	dev = acpi__aml_device(a, name);
	acpi__aml_name(a, "_HID");
	acpi__aml_eisaid(a, "PNP0501");
	acpi__aml_name(a, "_UID");
	acpi__aml_integer(a, uid);
	acpi__aml_name(a, "_CRS");
	acpi__aml_restemplate(a, &crs);
	acpi__aml_end(a, dev);
	acpi__aml_free(&crs);
	return a->err;
}
