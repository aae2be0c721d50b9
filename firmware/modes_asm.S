/*
 * Mode switches.
 *   void long_mode_roundtrip(uint32_t pml4, uint64_t *out)
 *     PM32 -> IA-32e compatibility mode -> 64-bit -> compatibility -> PM32
 *   void real_mode_roundtrip(void)
 *     PM32 -> 16-bit PM -> real mode -> PM32, running a blob copied to 0x8000
 */
#define MSR_EFER 0xc0000080
#define RM_BASE  0x8000

	.text
	.code32
	.globl long_mode_roundtrip
long_mode_roundtrip:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov 20(%esp), %eax		/* pml4 */
	mov 24(%esp), %edi		/* out */
	mov %edi, lm_out
	mov %cr4, %ecx
	or $0x20, %ecx			/* PAE */
	mov %ecx, %cr4
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0			/* now IA-32e compatibility mode */
	mov $MSR_EFER, %ecx
	rdmsr
	mov %eax, 0(%edi)		/* out[0]: EFER in compatibility mode */
	mov %cr0, %eax
	mov %eax, 8(%edi)		/* out[1]: CR0 */
	ljmp $0x30, $lm64

	.code64
	.globl lm64
lm64:
	mov %esp, %esp			/* upper halves are undefined after the switch */
	mov %edi, %edi
	movabs $0x123456789abcdef0, %rax
	mov %rax, %r8
	rol $8, %r8
	mov %r8, 16(%rdi)		/* out[2]: 0x3456789abcdef012 */
	lea lm64(%rip), %rax
	mov %rax, 24(%rdi)		/* out[3]: RIP-relative address of lm64 */
	pushq $-1
	pop %r15
	call 1f
	jmp 2f
1:	add $1, %r15			/* 64-bit carry out of r15 */
	ret
2:	mov %r15, 32(%rdi)		/* out[4]: 0 */
	mov %rsp, %rax
	shr $32, %rax
	mov %rax, 40(%rdi)		/* out[5]: 0: the stack stayed below 4 GiB */
	pushq $0x08
	.byte 0x68			/* pushq $compat_back: no 32S relocation in elf32 */
	.long compat_back
	lretq

	.code32
compat_back:
	mov lm_out, %edi
	mov $MSR_EFER, %ecx
	rdmsr
	mov %eax, 48(%edi)		/* out[6]: EFER back in compatibility mode */
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0			/* leave IA-32e mode */
	mov $MSR_EFER, %ecx
	rdmsr
	mov %eax, 56(%edi)		/* out[7]: EFER after paging off (LMA clear) */
	and $~0x100, %eax
	wrmsr
	mov %cr4, %eax
	and $~0x20, %eax
	mov %eax, %cr4
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

	.globl real_mode_roundtrip
real_mode_roundtrip:
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, rm_saved_esp
	ljmp $0x38, $(rm_entry - rm_blob)

pm_back:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov rm_saved_esp, %esp
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

	.data
lm_out: .long 0
rm_saved_esp: .long 0

/* ---- copied to RM_BASE; offsets are relative to rm_blob */
	.section .testcode, "ax"
	.code16
	.globl rm_blob, rm_blob_end, rm_res
rm_blob:
rm_entry:				/* 16-bit protected mode, CS base RM_BASE */
	mov $0x40, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov %cr0, %eax
	and $0xfffffffe, %eax
	mov %eax, %cr0
	ljmp $(RM_BASE >> 4), $(rm_real - rm_blob)
rm_real:
	mov $(RM_BASE >> 4), %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x0ff0, %sp
	smsw %ax
	mov %ax, rm_res - rm_blob		/* res[0]: MSW, PE clear */
	mov $((RM_BASE >> 4) + 0x10), %bx
	mov %bx, %es
	movw $0x1234, %es:0x0			/* linear RM_BASE + 0x100 */
	mov 0x100, %ax
	mov %ax, rm_res - rm_blob + 2		/* res[1]: 0x1234 via another segment */
	push $0x5a5a
	call rm_sub
	pop %ax
	mov %ax, rm_res - rm_blob + 4		/* res[2]: 0x5a5b */
	/* Real-mode interrupt through the IVT at linear 0. */
	lidt rm_idtr - rm_blob
	xor %ax, %ax
	mov %ax, %es
	movw $(rm_isr - rm_blob), %es:(0x50 * 4)
	movw $(RM_BASE >> 4), %es:(0x50 * 4 + 2)
	movw $0, rm_res - rm_blob + 6
	int $0x50
	int $0x50
	mov %cs, %ax
	mov %ax, rm_res - rm_blob + 8		/* res[4]: CS = RM_BASE >> 4 */
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	.byte 0x66, 0xea			/* ljmpl $0x08, $pm_back */
	.long pm_back
	.word 0x08

rm_sub:
	mov %sp, %bp
	incw 2(%bp)
	ret

rm_isr:
	incw %cs:(rm_res - rm_blob + 6)		/* res[3]: 2 after two ints */
	iret

	.align 4
rm_idtr:
	.word 0x3ff
	.long 0
rm_res:
	.word 0, 0, 0, 0, 0
rm_blob_end:
	.code32
