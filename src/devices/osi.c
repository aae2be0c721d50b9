#include "osi.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "../mem/mem.h"
#include "../util/util.h"
#include "../vm/vm.h"
#include "debug_exit.h"

static uint64_t osi__err(int err)
{
	return (uint64_t)(int64_t)-err;
}

static uint64_t osi__write(struct vm *vm, uint64_t gpa, uint64_t len)
{
	const uint8_t *p;
	uint64_t done = 0;

	if (len > OSI_WRITE_MAX)
		return osi__err(EINVAL);
	p = mem__gpa_to_hva(&vm->mem, gpa, len);
	if (!p)
		return osi__err(EFAULT);
	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? done : osi__err(EIO);
		done += (uint64_t)n;
	}
	return done;
}

static uint64_t osi__clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

enum vcpu_action osi__handle(struct vm *vm, struct vcpu *v, uint64_t *gprs)
{
	enum vcpu_action act = VCPU_CONTINUE;

	if ((uint32_t)gprs[OSI_GPR_RAX] != OSI_MAGIC) {
		gprs[OSI_GPR_RAX] = osi__err(ENOSYS);
		return act;
	}
	switch (gprs[OSI_GPR_RBX]) {
	case OSI_CALL_PROBE:
		gprs[OSI_GPR_RAX] = 0;
		gprs[OSI_GPR_RCX] = OSI_VERSION;
		break;
	case OSI_CALL_WRITE:
		gprs[OSI_GPR_RAX] = osi__write(vm, gprs[OSI_GPR_RCX], gprs[OSI_GPR_RDX]);
		break;
	case OSI_CALL_EXIT: {
		uint32_t code = (uint32_t)gprs[OSI_GPR_RCX];

		vm__request_stop(vm, debug_exit__status(code), "guest OSI exit %u", code);
		gprs[OSI_GPR_RAX] = 0;
		act = VCPU_STOP;
		break;
	}
	case OSI_CALL_CLOCK:
		gprs[OSI_GPR_RAX] = osi__clock();
		break;
	default:
		gprs[OSI_GPR_RAX] = osi__err(ENOSYS);
		break;
	}
	return act;
}

void osi__init(struct vm *vm)
{
	vm->osi = osi__handle;
}
