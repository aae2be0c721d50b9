/*
 * Code that remaps its own page: copied into two frames that differ only in
 * the immediate after INVLPG.  INVLPG is serializing, so the fetch after it
 * must go through the new translation.
 *   int remap_self(uint32_t *pte, uint32_t new_pte, uint32_t page_va)
 */
	.section .testcode, "ax"
	.globl remap_self_tmpl, remap_self_imm, remap_self_end
remap_self_tmpl:
	push %ebx
	mov 8(%esp), %edx
	mov 12(%esp), %ecx
	mov 16(%esp), %ebx
	mov %ecx, (%edx)
	invlpg (%ebx)
	.byte 0xb8		/* mov $imm32, %eax */
remap_self_imm:
	.long 0
	pop %ebx
	ret
remap_self_end:

/* int const_fn(void): mov $imm32, %eax; ret -- copied and patched by tests */
	.globl const_fn_tmpl, const_fn_end
const_fn_tmpl:
	.byte 0xb8
	.long 0
	ret
const_fn_end:
