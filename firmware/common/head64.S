/*
 * 64-bit runtime: multiboot entry (a.out kludge), switch to long mode with
 * 1 GiB identity-mapped by 2 MiB user/writable pages, IDT stubs,
 * setjmp/longjmp and the ring-3 trampoline.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003	/* page-aligned modules, memory info, address fields */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header, __image_start, __data_end, __image_end, _start32

	.section .text.entry, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	mov %eax, boot_magic
	mov %ebx, boot_info
	/* pd0: 512 x 2 MiB, P W U PS */
	mov $pd0, %edi
	xor %eax, %eax
	mov $0x87, %eax
	xor %ecx, %ecx
1:	mov %eax, (%edi,%ecx,8)
	movl $0, 4(%edi,%ecx,8)
	add $0x200000, %eax
	inc %ecx
	cmp $512, %ecx
	jne 1b
	mov $pdpt0, %eax
	or $7, %eax
	mov %eax, pml4
	mov $pd0, %eax
	or $7, %eax
	mov %eax, pdpt0
	lgdt gdt64_desc
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x900, %eax			/* LME, NXE */
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x08, $start64

	.code64
start64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $stack_top, %rsp
	xor %ebp, %ebp
	call fw_setup
	mov boot_magic, %edi
	mov boot_info, %esi
	call fw_main
	mov %eax, %edi
	call fw_exit_status

	.text
.macro ISR_NOERR n
	.globl isr\n
isr\n:	pushq $0
	pushq $\n
	jmp isr_common
.endm
.macro ISR_ERR n
	.globl isr\n
isr\n:	pushq $\n
	jmp isr_common
.endm
	ISR_NOERR 0
	ISR_NOERR 1
	ISR_NOERR 2
	ISR_NOERR 3
	ISR_NOERR 4
	ISR_NOERR 5
	ISR_NOERR 6
	ISR_NOERR 7
	ISR_ERR 8
	ISR_NOERR 9
	ISR_ERR 10
	ISR_ERR 11
	ISR_ERR 12
	ISR_ERR 13
	ISR_ERR 14
	ISR_NOERR 15
	ISR_NOERR 16
	ISR_ERR 17
	ISR_NOERR 18
	ISR_NOERR 19
	ISR_NOERR 20
	ISR_ERR 21
	ISR_NOERR 128

isr_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	lea 72(%rsp), %rdi		/* vector, err, rip, cs, rflags, rsp, ss */
	cld
	call trap_handler
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq

	.globl fw_setjmp
fw_setjmp:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 48(%rdi)
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	xor %eax, %eax
	ret

	.globl fw_longjmp
fw_longjmp:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %esi, %eax
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	jmp *56(%rdi)

	.globl enter_user
enter_user:
	pushq $0x23
	pushq $user_stack_top
	pushq $0x2
	pushq $0x2b
	pushq $user_tramp
	iretq

user_tramp:
	mov user_arg, %rdi
	call *user_fn
	int $0x80
1:	jmp 1b

	.data
	.align 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 code64 */
	.quad 0x00cf92000000ffff	/* 0x10 data */
	.quad 0x00cf9a000000ffff	/* 0x18 code32 (unused) */
	.quad 0x00cff2000000ffff	/* 0x20 user data */
	.quad 0x00affa000000ffff	/* 0x28 user code64 */
	.quad 0, 0			/* 0x30 TSS, filled in by fw_setup */
gdt_end:
gdt64_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.bss
	.align 4096
	.globl pml4, pdpt0, pd0
pml4:	.space 4096
pdpt0:	.space 4096
pd0:	.space 4096
boot_magic: .long 0
boot_info: .long 0
	.globl user_fn, user_arg
	.align 8
user_fn: .quad 0
user_arg: .quad 0
	.align 4096
	.space 16384
	.globl stack_top
stack_top:
	.space 8192
	.globl trap_stack_top
trap_stack_top:
	.space 4096
	.globl user_stack_top
user_stack_top:
