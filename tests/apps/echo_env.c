/* echo_env.c -- checks that argv and envp reach the program intact.
 * Prints argc, every argv element, then every envp entry in order.
 * Args: any. Stdin: unused. The harness passes an exact environment. */
#include <stdio.h>

int main(int argc, char **argv, char **envp)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (int i = 0; envp[i]; i++)
        printf("envp[%d]=%s\n", i, envp[i]);
    return 0;
}
