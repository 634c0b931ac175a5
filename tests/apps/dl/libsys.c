/* A shared library whose code makes a syscall itself (with the `syscall`
 * instruction, as libc does): the LibOS finds it through the library's
 * unwind tables when the library is first mapped (vm/scan.rs). */

long sys_getppid(void)
{
    long ret;
    __asm__ volatile("mov $110, %%eax\n\tsyscall" : "=a"(ret) : : "rcx", "r11", "memory");
    return ret;
}
