/* Serial output, formatting, checks, exit, IDT/TSS set-up and fault probes. */
#include "fw.h"

volatile struct fault last_fault;
static int passed, failed;

/* ---- string helpers: the compiler may call these */
void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- COM1, polled */
void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static void fmt_num(char *buf, size_t len, size_t *pos, uint64_t v, unsigned base, int width,
		    char pad, int neg)
{
	char tmp[24];
	int n = 0;

	do {
		unsigned d;

		if (base == 16) {
			d = v & 15;
			v >>= 4;
		} else {
			/* 32-bit division only: no libgcc here. */
			uint32_t x = (uint32_t)v;

			d = x % 10;
			v = x / 10;
		}
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	} while (v && n < 23);
	if (neg)
		tmp[n++] = '-';
	while (n < width && n < 23)
		tmp[n++] = pad;
	while (n--)
		if (*pos + 1 < len)
			buf[(*pos)++] = tmp[n];
}

int vsnprintf_fw(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t pos = 0;

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			if (pos + 1 < len)
				buf[pos++] = *fmt;
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int32_t v = va_arg(ap, int32_t);

			fmt_num(buf, len, &pos, v < 0 ? (uint32_t)-v : (uint32_t)v, 10, width, pad,
				v < 0);
			break;
		}
		case 'u':
			fmt_num(buf, len, &pos, va_arg(ap, uint32_t), 10, width, pad, 0);
			break;
		case 'x':
			if (lng >= 2 || (lng == 1 && sizeof(long) == 8))
				fmt_num(buf, len, &pos, va_arg(ap, uint64_t), 16, width, pad, 0);
			else
				fmt_num(buf, len, &pos, va_arg(ap, uint32_t), 16, width, pad, 0);
			break;
		case 'c':
			if (pos + 1 < len)
				buf[pos++] = (char)va_arg(ap, int);
			break;
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				if (pos + 1 < len)
					buf[pos++] = *s;
			break;
		default:
			if (pos + 1 < len)
				buf[pos++] = *fmt;
			break;
		}
	}
	if (len)
		buf[pos < len ? pos : len - 1] = 0;
	return (int)pos;
}

void printf_fw(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf_fw(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts_serial(buf);
}

int check(int ok, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf_fw(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s %s\n", ok ? "PASS" : "FAIL", buf);
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

int fw_failures(void)
{
	return failed;
}

int fw_summary(void)
{
	printf("done: %d passed, %d failed\n", passed, failed);
	return failed;
}

void fw_exit(uint32_t code)
{
	outb(EXIT_PORT, (uint8_t)code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Called from head.S with fw_main's result. */
void fw_exit_status(int failures);
void fw_exit_status(int failures)
{
	fw_exit(failures ? 1 : 0);
}

/* ---- fault probes: the arch's trap handler longjmps back here */
int fw_setjmp(uintptr_t *buf) __attribute__((returns_twice));
__attribute__((noreturn)) void enter_user(void);
extern void (*user_fn)(uintptr_t);
extern uintptr_t user_arg;

uintptr_t probe_jb[8];
volatile int probe_active;

int probe(void (*fn)(uintptr_t), uintptr_t arg)
{
	int r = fw_setjmp(probe_jb);

	if (r)
		return r == 2 ? 0 : 1;
	last_fault.vector = 0xff;
	probe_active = 1;
	fn(arg);
	probe_active = 0;
	return 0;
}

int probe_user(void (*fn)(uintptr_t), uintptr_t arg)
{
	int r = fw_setjmp(probe_jb);

	if (r)
		return r == 2 ? 0 : 1;
	last_fault.vector = 0xff;
	user_fn = fn;
	user_arg = arg;
	probe_active = 1;
	enter_user();
}

/* Shared by both trap handlers: a fault a probe expected, or the end. */
void fw_trap(uint32_t vector, uint64_t err, uintptr_t ip, uintptr_t cs)
{
	if (vector == 0x80) {
		if (probe_active) {
			probe_active = 0;
			fw_longjmp(probe_jb, 2);
		}
		return;
	}
	last_fault.vector = vector;
	last_fault.err = (uint32_t)err;
	last_fault.cr2 = vector == 14 ? read_cr2() : 0;
	last_fault.eip = ip;
	last_fault.cs = (uint32_t)cs;
	if (probe_active) {
		probe_active = 0;
		fw_longjmp(probe_jb, 1);
	}
	printf("UNEXPECTED exception %u err 0x%x at %x:%lx cr2 0x%lx\n", vector, (uint32_t)err,
	       (uint32_t)cs, (unsigned long)ip, (unsigned long)last_fault.cr2);
	fw_exit(0x7f);
}
