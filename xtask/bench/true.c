/* The smallest static program: `vessel run` end-to-end time vs native exec. */
int main(void)
{
	return 0;
}
