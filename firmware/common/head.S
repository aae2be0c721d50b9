/* Multiboot entry, GDT, TSS, IDT stubs, setjmp/longjmp, ring-3 trampoline. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, boot_magic
	mov %ebx, boot_info
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $stack_top, %esp
	xor %ebp, %ebp
	call fw_setup
	pushl boot_info
	pushl boot_magic
	call fw_main
	add $8, %esp
	push %eax
	call fw_exit_status

/* ---- exceptions: vector and a zero error code when the CPU pushes none */
	.text
.macro ISR_NOERR n
	.globl isr\n
isr\n:	pushl $0
	pushl $\n
	jmp isr_common
.endm
.macro ISR_ERR n
	.globl isr\n
isr\n:	pushl $\n
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
	pusha
	push %ds
	push %es
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	push %esp
	call trap_handler	/* longjmps away when a probe expected this */
	add $4, %esp
	pop %es
	pop %ds
	popa
	add $8, %esp
	iret

/* int fw_setjmp(uint32_t buf[6]); void fw_longjmp(uint32_t buf[6], int v) */
	.globl fw_setjmp
fw_setjmp:
	mov 4(%esp), %eax
	mov %ebx, 0(%eax)
	mov %esi, 4(%eax)
	mov %edi, 8(%eax)
	mov %ebp, 12(%eax)
	lea 4(%esp), %ecx
	mov %ecx, 16(%eax)
	mov (%esp), %ecx
	mov %ecx, 20(%eax)
	xor %eax, %eax
	ret

	.globl fw_longjmp
fw_longjmp:
	mov 4(%esp), %edx
	mov 8(%esp), %eax
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %ss
	mov 0(%edx), %ebx
	mov 4(%edx), %esi
	mov 8(%edx), %edi
	mov 12(%edx), %ebp
	mov 16(%edx), %esp
	jmp *20(%edx)

/* Drop to CPL3 at user_tramp; it comes back through int $0x80 or a fault. */
	.globl enter_user
enter_user:
	pushl $0x23
	pushl $user_stack_top
	pushl $0x2
	pushl $0x1b
	pushl $user_tramp
	iret

	.globl user_tramp
user_tramp:
	mov $0x23, %ax
	mov %ax, %ds
	mov %ax, %es
	pushl user_arg
	call *user_fn
	int $0x80
1:	jmp 1b

	.data
	.align 8
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 code32 */
	.quad 0x00cf92000000ffff	/* 0x10 data32 */
	.quad 0x00cffa000000ffff	/* 0x18 user code32 */
	.quad 0x00cff2000000ffff	/* 0x20 user data32 */
	.quad 0			/* 0x28 TSS, filled in by fw_setup */
	.quad 0x00af9a000000ffff	/* 0x30 code64 */
	.quad 0x00009a000000ffff	/* 0x38 code16, base patched by users */
	.quad 0x000092000000ffff	/* 0x40 data16 */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.align 16
boot_magic: .long 0
boot_info: .long 0
	.globl user_fn, user_arg
user_fn: .long 0
user_arg: .long 0
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
