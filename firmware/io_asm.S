/* 8-byte MMIO from 32-bit code needs MMX: kept out of C (-mno-mmx). */
	.text
	.globl mmio_mmx_write64, mmio_mmx_read64
mmio_mmx_write64:
	mov 4(%esp), %eax
	mov 8(%esp), %edx
	movq (%edx), %mm0
	movq %mm0, (%eax)
	ret
mmio_mmx_read64:
	mov 4(%esp), %eax
	mov 8(%esp), %edx
	movq (%eax), %mm1
	movq %mm1, (%edx)
	ret
