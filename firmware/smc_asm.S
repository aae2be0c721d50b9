/* Self-modifying code: an instruction patched by the code right before it. */
	.section .testcode, "ax"
	.globl smc_same_page
/* uint32_t smc_same_page(uint32_t v): stores v into its own mov, jumps, runs it */
smc_same_page:
	mov 4(%esp), %ecx
	mov %ecx, 2f + 1
	jmp 1f
1:
2:	mov $0, %eax
	ret

	.globl const_fn_tmpl, const_fn_end
const_fn_tmpl:
	.byte 0xb8
	.long 0
	ret
const_fn_end:

/* xor %eax,%eax; inc %eax; inc %eax; inc %eax; ret  -> 3 */
	.globl other_fn_tmpl, other_fn_end
other_fn_tmpl:
	xor %eax, %eax
	inc %eax
	inc %eax
	inc %eax
	ret
other_fn_end:
